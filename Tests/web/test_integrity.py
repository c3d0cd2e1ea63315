"""What the web app sends and keeps: the network of a one-sided mark (one same-origin POST, nothing about the
target, a database dump naming no target), a stored key that cannot be exported, Subresource Integrity on
modules imported by modules, and a whole session's requests (same-origin, never the server's directory)."""

import json
import sqlite3

from playwright.sync_api import expect

from support import MAX_MARKS, SCREENS, b64url, idle, matched, same_origin_requests, stored_secrets_check


def test_one_sided_mark_shows_nothing_and_names_no_target(server, members, invite, alice_and_bob):
    alice, bob = alice_and_bob
    matched(alice, bob)
    carol = members("carol").join(invite, "Carol Danvers", "Product manager", ["leadership"], seeks=True)
    alice_key = server.rows("SELECT public_key FROM member WHERE handle = 'alice'")[0][0]
    carol.select(["alice"])
    # Count the X25519 key pairs the page generates while it marks.
    carol.page.evaluate("""() => {
        window.x25519KeysGenerated = 0;
        const subtle = crypto.subtle, generate = subtle.generateKey.bind(subtle);
        subtle.generateKey = (algorithm, ...rest) => {
            if ((algorithm?.name ?? algorithm) === "X25519") window.x25519KeysGenerated++;
            return generate(algorithm, ...rest);
        };
    }""")
    requests = carol.submit_mark("mentor", note="Alice, would you mentor me?")
    expect(carol.page.locator("#status")).to_contain_text("Marked privately: alice")
    # A dummy costs what a real mark costs: its derivation uses the page's one throwaway key, no new key pair
    # (one per dummy would make the time between GET and POST count the dummies).
    assert carol.page.evaluate("window.x25519KeysGenerated") == 0, carol.page.evaluate("window.x25519KeysGenerated")
    # The network of the mark: same-origin only, one POST /v1/marks, nothing that names the target.
    secrets = ["alice", "Alice Liddell", "Learning Swift", b64url(alice_key), alice_key.hex()]
    assert requests, "the mark made no request"
    for request in requests:
        assert request.url.startswith(server.base + "/"), f"not same-origin: {request.url}"
        text = request.url + (request.post_data or "")
        for secret in secrets:
            assert secret.lower() not in text.lower(), f"{request.method} {request.url} carries {secret!r}"
    posts = [r for r in requests if r.method == "POST"]
    assert [r.url for r in posts] == [server.base + "/v1/marks"], [r.url for r in posts]
    body = json.loads(posts[0].post_data)
    assert len(body["marks"]) == 1 and len(body["withdraw"]) == 1, "one dummy out, one mark in"
    # Nobody sees anything.
    carol.screen("matches")
    alice.screen("matches")
    alice.page.click("#matches-refresh")
    idle(alice.page)
    assert carol.verified_matches() == [] and alice.verified_matches() == ["bob"]
    expect(alice.page.locator("#match-warnings")).to_be_empty()
    # Every member holds P marks whatever they marked: carol's one real mark looks like her 7 dummies.
    assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", server.member_id("carol"))[0][0] == MAX_MARKS
    # The database dump names no target: outside the member, tag and key-log rows neither alice's handle nor
    # her key appears, and no mark row carries her id.
    with sqlite3.connect(server.database) as db:
        dump = list(db.iterdump())
    allowed = ('INSERT INTO "member"', 'INSERT INTO "member_tag"', 'INSERT INTO "key_log"', "CREATE ", 'INSERT INTO "sqlite_sequence"')
    for line in dump:
        if line.startswith(allowed):
            continue
        assert "alice" not in line.lower() and alice_key.hex() not in line.lower(), line[:200]
    assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", server.member_id("alice"))[0][0] == MAX_MARKS - 1


def test_the_stored_private_key_cannot_be_exported(members, invite):
    carol = members("carol").join(invite, "Carol Danvers", "Product manager", ["leadership"], seeks=True)
    outcome = stored_secrets_check(carol.page)
    assert outcome["key"]["type"] == "private" and outcome["key"]["algorithm"] == "X25519", outcome
    assert outcome["key"]["extractable"] is False and all(not e.endswith("exported") for e in outcome["key"]["exports"]), outcome
    assert outcome["deviceKey"]["extractable"] is False and all(not e.endswith("exported") for e in outcome["deviceKey"]["exports"]), outcome
    assert outcome["sealedBytes"] == 32 + 16, outcome


def test_a_changed_module_imported_by_a_module_stops_the_app(server, browser, invite):
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def tampered(route):
        response = route.fetch()
        route.fulfill(response=response, body=response.body() + b"\n// changed")
    page.route("**/web/reciprocity.js", tampered)
    page.goto(f"{server.base}/join#program=acme&invite={invite}")
    page.wait_for_timeout(1500)
    assert page.locator("#screen-join").is_hidden(), "a module that fails its integrity check must not run"
    assert any("integrity" in e for e in errors), errors
    context.close()


def test_a_whole_session_stays_same_origin_and_never_asks_the_directory(server, members, invite, alice_and_bob):
    alice, bob = alice_and_bob
    matched(alice, bob)
    carol = members("carol").join(invite, "Carol Danvers", "Product manager", ["leadership"], seeks=True)
    carol.mark(["alice"], "mentor", note="Alice, would you mentor me?")
    expect(carol.page.locator("#status")).to_contain_text("Marked privately: alice")
    for member in (alice, bob, carol):
        for name in SCREENS:
            member.screen(name)
        member.screen("directory")
        member.search("alice")
        member.page.reload()
        idle(member.page)
    seen = same_origin_requests([alice, bob, carol], server.base)
    print(f"{seen} requests")
    assert seen > 100, seen
