"""Marks and matches in the web app: two members matching (notes, polling, fingerprints), a browser and a CLI
member matching both ways, several marks at once, withdrawing, two tabs of one browser, and a new epoch."""

import re

from playwright.sync_api import expect

from support import MAX_MARKS, cli_and_browser_matched, idle, state_marks


def test_mark_each_other_and_both_see_the_verified_match(server, invite, alice_and_bob):
    alice, bob = alice_and_bob
    alice.mark(["bob"], "mentor", note="Hi Bob, could you help me with Swift on Linux? ✨")
    expect(alice.page.locator("#status")).to_contain_text("Marked privately: bob")
    assert not alice.error_text(), alice.error_text()
    alice.screen("matches")
    assert alice.verified_matches() == [], "a one-sided mark shows no match"
    bob.mark(["alice"], "mentee", note="Happy to, Alice.")
    expect(bob.page.locator("#status")).to_contain_text("Marked privately: alice")
    bob.screen("matches")
    expect(bob.page.locator("#matches-list")).to_contain_text("Hi Bob, could you help me with Swift on Linux? ✨")
    # Alice stays on her screen: polling finds the match without a reload.
    expect(alice.page.locator("#matches-list")).to_contain_text("Happy to, Alice.", timeout=30_000)
    expect(alice.page.locator("#status")).to_contain_text("New match: bob")
    assert alice.verified_matches() == ["bob"] and bob.verified_matches() == ["alice"]
    # The fingerprint shown with the match is the one bob's own Security screen shows.
    bob.screen("keys")
    bob_fp = bob.page.locator("#my-fingerprint").inner_text()
    assert re.fullmatch(r"([0-9a-f]{4} ){7}[0-9a-f]{4}", bob_fp), bob_fp
    expect(alice.page.locator("#matches-list")).to_contain_text(bob_fp)
    alice.screen("directory")
    expect(alice.page.locator("#directory-list")).to_contain_text("You marked them as your mentor (matched")
    # An invite link opened where a membership exists: a clear message, the membership untouched.
    state = alice.state()
    alice.page.goto("about:blank")
    alice.page.goto(f"{server.base}/join#program=acme&invite={invite}")
    expect(alice.page.locator("#error")).to_contain_text("This browser already holds a membership (alice in acme)")
    assert alice.page.url == server.base + "/" and alice.state() == state
    assert not alice.console and not bob.console, alice.console + bob.console


def test_browser_and_cli_members_match_both_ways(cli, members, invite):
    _, erin, reports = cli_and_browser_matched(cli, members, invite)
    got = sorted((r["handle"], r["wants"], r["verified"], r.get("note")) for r in reports)
    assert got == [("erin", "mentee", True, "Thank you Dave!"), ("erin", "peer", True, None)], got
    assert erin.verified_matches() == ["dave", "dave"]


def test_withdraw_an_interest_leaves_p_marks(server, members, invite, cli_member):
    cli_member("alice", "Alice Liddell")
    frank = members("frank").join(invite, "Frank")
    frank.mark(["alice"], "mentor", note="Still there?")
    expect(frank.page.locator("#status")).to_contain_text("Marked privately: alice")
    frank.screen("interests")
    expect(frank.page.locator("#interests-list")).to_contain_text("alice")
    frank.page.click("#interests-list button")
    expect(frank.page.locator("#status")).to_contain_text("Withdrew your interest in alice")
    expect(frank.page.locator("#interests-list")).to_contain_text("You have not marked anyone yet")
    assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", server.member_id("frank"))[0][0] == MAX_MARKS


def test_mark_several_at_once_then_forget_the_device(members, invite, cli_member):
    cli_member("bob", "Bob Marley")
    cli_member("carol", "Carol Danvers")
    gina = members("gina").join(invite, "Gina Link", "Joined from the printed link", ["swift"], offers=True)
    gina.select(["bob", "carol"])
    expect(gina.page.locator("#mark-submit")).to_have_text("Mark 2 people privately")
    requests = gina.submit_mark("peer")
    expect(gina.page.locator("#status")).to_contain_text("Marked privately: bob, carol as a peer")
    posts = [r for r in requests if r.method == "POST"]
    assert len(posts) == 1, [r.url for r in posts]
    body = posts[0].post_data_json
    assert len(body["marks"]) == 2 and len(body["withdraw"]) == 2, body
    _, real = state_marks(gina)
    assert sorted(m["handle"] for m in real) == ["bob", "carol"]
    gina.screen("device")
    gina.page.click("#forget-start")
    gina.page.click("#forget-go")
    expect(gina.page.locator("#screen-welcome")).to_be_visible()
    expect(gina.page.locator("#status")).to_contain_text("forgotten")
    assert gina.page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)") == []
    gina.page.reload()
    expect(gina.page.locator("#screen-welcome")).to_be_visible()
    assert gina.page.locator("#nav").is_hidden()


def test_a_stale_tab_never_undoes_the_other_tabs_change(server, members, invite, cli_member):
    cli_member("alice", "Alice Liddell")
    cli_member("erin", "Erin Browser")
    carol = members("carol").join(invite, "Carol Danvers", "Product manager", ["leadership"], seeks=True)
    carol.mark(["alice"], "mentor", note="Alice, would you mentor me?")
    expect(carol.page.locator("#status")).to_contain_text("Marked privately: alice")
    carol_id = server.member_id("carol")
    # A second tab of the same browser, opened before the first one changes anything.
    stale = carol.context.new_page()
    stale.goto(server.base + "/")
    expect(stale.locator("#screen-profile")).to_be_visible()
    idle(stale)
    carol.select(["erin"])
    carol.submit_mark("peer", note="From tab one")
    expect(carol.page.locator("#status")).to_contain_text("Marked privately: erin")
    tokens = {row[0] for row in server.rows("SELECT token FROM mark WHERE member_id = ?", carol_id)}
    # The stale tab polls and converges: it works on the stored state, so it withdraws nothing.
    stale.click("#nav button[data-screen=matches]")
    idle(stale)
    stale.click("#matches-refresh")
    idle(stale)
    assert {row[0] for row in server.rows("SELECT token FROM mark WHERE member_id = ?", carol_id)} == tokens
    stale.click("#nav button[data-screen=interests]")
    expect(stale.locator("#interests-list")).to_contain_text("erin")
    stale.close()
    _, real = state_marks(carol)
    assert sorted(m["handle"] for m in real) == ["alice", "erin"], real


def test_a_new_epoch_derives_marks_again_and_going_back_is_refused(server, members, invite):
    bob = members("bob").join(invite, "Bob Marley", "Twenty years of backend work", ["swift", "linux", "sql"], offers=True)
    ivy = members("ivy").join(invite, "Ivy Narrow", "On a phone", ["swift", "design"], seeks=True, offers=True)
    ivy.mark(["bob"], "mentor", note="From my phone")
    expect(ivy.page.locator("#status")).to_contain_text("Marked privately: bob")
    ivy_id = server.member_id("ivy")
    server.admin("program", "set-epoch", "acme", "1")
    ivy.screen("interests")  # syncs: the pending interest is derived again for epoch 1, every dummy replaced
    assert not ivy.error_text(), ivy.error_text()
    assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ? AND epoch = 1", ivy_id)[0][0] == MAX_MARKS
    state, real = state_marks(ivy)
    assert [(m["handle"], m["epoch"]) for m in real] == [("bob", 1)] and state["epoch"] == 1, real
    bob.mark(["ivy"], "mentee", note="Welcome to epoch 1")
    ivy.screen("matches")
    expect(ivy.page.locator("#matches-list")).to_contain_text("Welcome to epoch 1")
    # The server going back to an earlier epoch, or lowering the quota below the padding: refused, nothing sent.
    server.admin("program", "set-epoch", "acme", "0")
    before = ivy.state()
    start = len(ivy.requests)
    ivy.page.click("#matches-refresh")
    expect(ivy.page.locator("#error")).to_contain_text("refusing to go back")
    assert not [r for r in ivy.requests[start:] if r.method == "POST"] and ivy.state() == before
    server.admin("program", "set-epoch", "acme", "2")
    server.tamper("UPDATE program SET max_marks = 4 WHERE name = 'acme'")
    ivy.page.click("#matches-refresh")
    expect(ivy.page.locator("#error")).to_contain_text("fewer than the 8 this device keeps pending")
    assert not [r for r in ivy.requests[start:] if r.method == "POST"] and ivy.state() == before
    server.tamper("UPDATE program SET max_marks = ? WHERE name = 'acme'", MAX_MARKS)
    ivy.page.click("#matches-refresh")
    idle(ivy.page)
    assert not ivy.error_text(), ivy.error_text()
    assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ? AND epoch = 2", ivy_id)[0][0] == MAX_MARKS
