"""Bad input and failures in the web app: a note over the limit, the server stopped mid-session, and matches whose
tag or note the server changed (a clear message each time, nothing sent or stored that should not be)."""

from playwright.sync_api import expect

from support import MAX_MARKS, axe_check, cli_and_browser_matched, state_marks


def alice_and_frank(members, invite, cli_member):
    cli_member("alice", "Alice Liddell")
    frank = members("frank").join(invite, "Frank")
    frank.select(["alice"])
    return frank


def test_a_note_over_510_bytes_is_refused_before_any_request(members, invite, cli_member):
    frank = alice_and_frank(members, invite, cli_member)
    frank.page.fill("#mark-note", "é" * 255)
    expect(frank.page.locator("#note-count")).to_have_text("510 of 510 bytes")
    before = frank.state()
    requests = frank.submit_mark("mentor", note="é" * 255 + "x")
    expect(frank.page.locator("#note-count")).to_contain_text("1 too many")
    expect(frank.page.locator("#error")).to_contain_text("at most 510 bytes")
    assert not [r for r in requests if r.method != "GET"] and not requests, [r.url for r in requests]
    assert frank.state() == before


def test_the_server_stopped_mid_session_changes_nothing(server, members, invite, cli_member):
    frank = alice_and_frank(members, invite, cli_member)
    frank.page.fill("#mark-note", "")
    before = frank.state()
    server.stop()
    frank.submit_mark("mentor", note="Still there?")
    expect(frank.page.locator("#error")).to_contain_text("The server cannot be reached")
    assert frank.state() == before, "a failed change leaves the state as it was"
    frank.shot("error-unreachable")
    server.start()
    frank.select(["alice"])
    frank.submit_mark("mentor", note="Still there?")
    expect(frank.page.locator("#status")).to_contain_text("Marked privately: alice")
    assert not frank.error_text()
    state, real = state_marks(frank)
    assert [(m["handle"], m["wants"], m["note"]) for m in real] == [("alice", "mentor", "Still there?")]
    assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", server.member_id("frank"))[0][0] == MAX_MARKS


def test_a_match_whose_tag_does_not_verify_is_a_warning(server, cli, members, invite):
    _, erin, _ = cli_and_browser_matched(cli, members, invite)
    dave_id, erin_id = server.member_id("dave"), server.member_id("erin")
    pair = "((a_member_id = ? AND b_member_id = ?) OR (a_member_id = ? AND b_member_id = ?))"
    ids = (dave_id, erin_id, erin_id, dave_id)
    assert server.rows(f'SELECT COUNT(*) FROM "match" WHERE {pair}', *ids)[0][0] == 2
    # Dave's side as erin receives it: both notes replaced, and one tag.
    server.tamper(f'UPDATE "match" SET a_note = CASE WHEN a_member_id = ? THEN randomblob(540) ELSE a_note END, '
                  f'b_note = CASE WHEN b_member_id = ? THEN randomblob(540) ELSE b_note END WHERE {pair}', dave_id, dave_id, *ids)
    token = server.rows(f'SELECT token FROM "match" WHERE {pair} ORDER BY token LIMIT 1', *ids)[0][0]
    server.tamper('UPDATE "match" SET a_tag = CASE WHEN a_member_id = ? THEN randomblob(32) ELSE a_tag END, '
                  'b_tag = CASE WHEN b_member_id = ? THEN randomblob(32) ELSE b_tag END WHERE token = ?', dave_id, dave_id, token)
    erin.screen("matches")
    expect(erin.page.locator("#match-warnings")).to_contain_text("does not verify here")
    expect(erin.page.locator("#matches-list > li.card")).to_have_count(1)
    expect(erin.page.locator("#matches-list")).to_contain_text("could not be opened")
    expect(erin.page.locator("#matches-list")).not_to_contain_text("I can mentor you")
    expect(erin.page.locator("#matches-list")).not_to_contain_text("No note.")
    axe_check(erin.page, "matches with warnings")
    erin.shot("matches-warnings")
