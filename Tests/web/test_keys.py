"""Keys and the key log in the web app: fingerprints, rotation and trusting a changed key, tree-head gossip, a key
change this device did not make, a log rewritten behind its back, and key backups between contexts and the CLI."""

import base64
import json
import os
import pathlib
import re
import time

from playwright.sync_api import expect

from support import (axe_check, cli_and_browser_matched, idle, matched, rotate, state_marks,
                     stored_secrets_check)

PASSPHRASE = "correct horse battery staple"


def resign(line, timestamp, key_file):
    """`line` with another timestamp, signed again with the log key in `key_file` (Specs/transparency.md section 3:
    LP("reciprocity-sth/v1") || LP(program) || BE64(size) || root || BE64(timestamp))."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    label, program, size, root, _, _ = line.split(" ")
    unb64 = lambda text: base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    lp = lambda data: len(data).to_bytes(2, "big") + data
    key = Ed25519PrivateKey.from_private_bytes(unb64(pathlib.Path(key_file).read_text().strip()))
    message = lp(label.encode()) + lp(program.encode()) + int(size).to_bytes(8, "big") + unb64(root) + timestamp.to_bytes(8, "big")
    signature = base64.urlsafe_b64encode(key.sign(message)).rstrip(b"=").decode()
    return " ".join([label, program, size, root, str(timestamp), signature])


def gossip(member, line):
    """Checks a tree head line on the member's Security screen (under Advanced); returns what the page says of it."""
    member.page.locator("#keys-advanced").evaluate("(details) => { details.open = true; }")
    member.page.fill("#gossip-head", line)
    member.page.click("#gossip-form button[type=submit]")
    idle(member.page)
    return member.page.locator("#gossip-result").inner_text()


def test_fingerprints_agree_rotation_blocks_marking_until_trusted(alice_and_bob, members, invite):
    alice, bob = alice_and_bob
    ivy = members("ivy").join(invite, "Ivy Narrow", "On a phone", ["swift", "design"], seeks=True, offers=True)
    ivy.mark(["bob"], "mentor", note="From my phone")
    expect(ivy.page.locator("#status")).to_contain_text("Marked privately: bob")
    bob.screen("keys")
    before = bob.page.locator("#my-fingerprint").inner_text()
    bob.page.fill("#fingerprint-handle", "alice")
    bob.page.click("#fingerprint-form button")
    idle(bob.page)
    alice.screen("keys")
    expect(bob.page.locator("#fingerprint-result")).to_contain_text(alice.page.locator("#my-fingerprint").inner_text())
    bob.page.click("#rotate-start")
    bob.page.click("#rotate-go")
    expect(bob.page.locator("#status")).to_contain_text("Your key was replaced")
    after = bob.page.locator("#my-fingerprint").inner_text()
    assert after != before
    # Ivy marked bob before: her mark waits for her to trust bob's new key, and marking him is refused.
    ivy.screen("interests")
    expect(ivy.page.locator("#interests-list")).to_contain_text("their key changed")
    ivy.select(["bob"])
    ivy.submit_mark("peer")
    expect(ivy.page.locator("#error")).to_contain_text(re.compile("bob's key changed", re.I))
    ivy.screen("keys")
    expect(ivy.page.locator("#changed-keys")).to_contain_text(after)
    ivy.shot("keys-changed")
    ivy.page.click("#changed-keys button")
    expect(ivy.page.locator("#status")).to_contain_text("You now trust bob's new key")
    _, real = state_marks(ivy)
    assert [(m["handle"], m.get("waitingForTrust")) for m in real] == [("bob", None)], real
    bob.screen("matches")


def test_tree_heads_gossiped_consistent_and_bad_ones_refused(server, cli, alice_and_bob, members, invite):
    alice, bob = alice_and_bob
    old = json.loads(bob.state())["treeHead"]
    erin = members("erin").join(invite, "Erin Browser", "Wants to learn Rust", ["rust"], seeks=True)
    dave = cli().join(invite, "dave", "--display-name", "Dave CLI", "--tag", "rust", "--offers-mentoring")
    rotate(bob)
    erin.screen("keys")
    shown = erin.page.locator("#my-tree-head").input_value()
    stored = json.loads(erin.state())["treeHead"]
    assert shown.split(" ")[:4] == stored.split(" ")[:4] and shown.startswith("reciprocity-sth/v1 acme "), (shown, stored)
    # A CLI member's `reciprocity key head` and another browser context's head: consistent.
    cli_head = dave.run("key", "head").strip()
    assert cli_head.startswith("reciprocity-sth/v1 acme "), cli_head
    assert gossip(erin, cli_head).startswith("Consistent"), erin.page.locator("#gossip-result").inner_text()
    alice.screen("keys")
    assert gossip(alice, erin.page.locator("#my-tree-head").input_value()).startswith("Consistent")
    # A head from before later joins and a rotation: smaller, proved consistent by the server's proof.
    assert int(old.split(" ")[2]) < int(alice.page.locator("#my-tree-head").input_value().split(" ")[2])
    assert gossip(alice, old).startswith("Consistent")
    # A tampered line (one root character changed): its signature does not verify.
    fields = cli_head.split(" ")
    fields[3] = ("B" if fields[3][0] != "B" else "C") + fields[3][1:]
    result = gossip(erin, " ".join(fields))
    assert "not signed by your program's log key" in result and "log-signature" in result, result
    # A head for the same size with its size field changed: the signature binds it too.
    fields = cli_head.split(" ")
    fields[2] = str(int(fields[2]) + 1)
    result = gossip(erin, " ".join(fields))
    assert "log-signature" in result, result
    # A head signed with the program's real log key but dated an hour ahead (past the 5-minute skew).
    result = gossip(erin, resign(cli_head, int(time.time() * 1000) + 3_600_000, server.database + ".log-key"))
    assert "dated in the future" in result and "log-future-head" in result, result
    # Garbage.
    result = gossip(erin, "hello, this is not a head")
    assert "not a tree head line" in result and "log-invalid-head" in result, result
    assert not erin.error_text(), erin.error_text()
    axe_check(erin.page, "keys-gossip")


def test_rotation_while_a_match_awaits_verification(server, members, invite):
    kate = members("kate").join(invite, "Kate Bush", "Songs and dance", ["music"])
    leo = members("leo").join(invite, "Leo Tolstoy", "Long novels", ["books"])
    kate.mark(["leo"], "peer")
    assert not kate.error_text(), kate.error_text()
    # Kate's app stops (no poll) while leo marks her back: the match exists on the server only.
    kate.page.goto("about:blank")
    leo.mark(["kate"], "peer")
    expect(leo.page.locator("#status")).to_contain_text("Marked privately: kate")
    # Kate rotates before her device checked its matches (the module alone, on a same-origin page without the
    # app): the match is recorded first, so the re-derived marks and dummies stay within the quota.
    kate.page.goto(server.base + "/web-manifest.json")
    result = kate.page.evaluate("""async () => {
        const { Membership } = await import("/web/membership.js");
        const membership = await Membership.open();
        try { await membership.rotateKey(); return "ok"; } catch (error) { return `${error.code}: ${error.message}`; }
    }""")
    assert result == "ok", result
    kate.page.goto(server.base + "/")
    kate.screen("matches")
    expect(kate.page.locator("#matches-list > li.card")).to_have_count(1)
    assert kate.verified_matches() == ["leo"] and not kate.error_text(), (kate.verified_matches(), kate.error_text())
    expect(kate.page.locator("#match-warnings")).to_be_empty()
    # Leo's match still verifies after kate's rotation: the tag derived from the pinned key is the proof,
    # whatever key the server now reports for kate.
    leo.screen("matches")
    leo.page.click("#matches-refresh")
    idle(leo.page)
    assert leo.verified_matches() == ["kate"] and not leo.error_text(), (leo.verified_matches(), leo.error_text())
    expect(leo.page.locator("#match-warnings")).to_be_empty()


def test_a_key_change_this_device_did_not_make_is_caught(server, members, invite):
    june = members("june").join(invite, "June")
    june.screen("keys")
    own = june.page.locator("#my-fingerprint").inner_text()
    # Someone with june's credential (or the operator) logs a key june's device never made.
    foreign = bytearray(os.urandom(32))
    foreign[31] &= 0x3F
    server.stop()
    server.tamper("UPDATE member SET public_key = ? WHERE handle = 'june'", bytes(foreign))
    server.tamper("INSERT INTO key_log (program_id, idx, event, handle, public_key, created_at) "
                  "SELECT id, (SELECT MAX(idx) + 1 FROM key_log WHERE program_id = program.id), 'rotate', 'june', ?, 0 "
                  "FROM program WHERE name = 'acme'", bytes(foreign))
    server.start()
    june.screen("matches")
    june.page.click("#matches-refresh")
    expect(june.page.locator("#error")).to_contain_text("log-foreign-key")
    expect(june.page.locator("#error")).to_contain_text("that this device did not make")
    june.screen("keys")
    assert june.page.locator("#my-fingerprint").inner_text() == own


def test_a_rewritten_key_log_is_refused_and_shows_as_a_fork(server, members, invite, cli_member):
    cli_member("carol", "Carol Danvers")
    alice = members("alice").join(invite, "Alice Liddell", "Learning Swift on servers", ["swift", "linux"], seeks=True)
    alice.screen("keys")  # syncs: alice has verified the current head
    old_head = alice.page.locator("#my-tree-head").input_value()
    substitute = os.urandom(32)
    substitute = bytes([substitute[0]]) + substitute[1:31] + bytes([substitute[31] & 0x3F])
    server.stop()
    server.tamper("UPDATE member SET public_key = ? WHERE handle = 'carol'", substitute)
    server.tamper("UPDATE key_log SET public_key = ? WHERE handle = 'carol'", substitute)
    server.start()
    before = alice.state()
    alice.screen("directory")
    alice.page.fill("#search-q", "carol")
    alice.page.click("#search-form button")
    idle(alice.page)
    alice.page.check("[id='dir-carol']")
    requests = alice.submit_mark("peer")
    expect(alice.page.locator("#error")).to_contain_text("log-fork")
    expect(alice.page.locator("#error")).to_contain_text("key log failed a check")
    assert not [r for r in requests if r.method == "POST"], "nothing is sent on a log failure"
    assert alice.state() == before
    alice.shot("error-log")
    # Someone who joins after the rewrite sees only the rewritten log; the head alice gossips from before it
    # has no consistency proof into that log: a fork, shown as one.
    quentin = members("quentin").join(server.invite(1), "Quentin")
    quentin.screen("keys")
    result = gossip(quentin, old_head)
    assert result.startswith("Fork:") and "log-fork" in result, result


def passphrase_file(folder):
    path = pathlib.Path(folder) / "passphrase.txt"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path


def test_key_backup_restores_in_a_fresh_context_and_in_the_cli(server, cli, alice_and_bob, members):
    alice, bob = alice_and_bob
    matched(alice, bob)
    folder = pathlib.Path(server.folder)
    pass_file = passphrase_file(folder)
    alice.screen("matches")
    expected = alice.verified_matches()
    assert expected == ["bob"], expected
    alice.screen("device")
    alice.page.fill("#export-pass", PASSPHRASE)
    alice.page.fill("#export-pass2", PASSPHRASE + "!")
    alice.page.click("#export-form button")
    expect(alice.page.locator("#error")).to_contain_text("The two passphrases differ")
    alice.page.fill("#export-pass", PASSPHRASE)
    alice.page.fill("#export-pass2", PASSPHRASE)
    with alice.page.expect_download() as download:
        alice.page.click("#export-form button")
    backup = folder / "alice.reciprocity-backup"
    download.value.save_as(backup)
    expect(alice.page.locator("#status")).to_contain_text("backup was downloaded")
    assert json.loads(backup.read_text())["format"] == "reciprocity-key-backup"
    # A fresh browser: a wrong passphrase changes nothing; the right one brings the membership and its matches.
    other = members("alice")
    other.page.goto(server.base + "/")
    expect(other.page.locator("#screen-welcome")).to_be_visible()
    other.page.set_input_files("#restore-welcome-file", str(backup))
    other.page.fill("#restore-welcome-pass", "not the passphrase at all")
    other.page.click("#restore-welcome button")
    expect(other.page.locator("#error")).to_contain_text("does not open this backup")
    # The code shown is spelled as every code a member sees (kebab-case), not as the backup format's own.
    expect(other.page.locator("#error")).to_contain_text("Error code: backup-wrong-passphrase")
    assert other.state() is None
    other.page.set_input_files("#restore-welcome-file", str(backup))
    other.page.fill("#restore-welcome-pass", PASSPHRASE)
    other.page.click("#restore-welcome button")
    expect(other.page.locator("#status")).to_contain_text("Restored: you are alice")
    expect(other.page.locator("#status")).to_contain_text("Conversations are not in a backup")
    expect(other.page.locator("#matches-list > li.card")).to_have_count(len(expected))
    assert other.verified_matches() == expected
    expect(other.page.locator("#matches-list")).to_contain_text("Happy to, Alice.")
    assert stored_secrets_check(other.page)["key"]["extractable"] is False
    assert state_marks(other)[1] == state_marks(alice)[1], "the interests come back, pending and matched"
    other.screen("interests")
    expect(other.page.locator("#interests-list")).to_contain_text("bob")
    # The same file in the CLI.
    cli_alice = cli("cli-alice")
    cli_alice.run("key", "import", str(backup), "--passphrase-file", str(pass_file))
    reports = json.loads(cli_alice.run("matches", "--json"))
    assert sorted(r["handle"] for r in reports if r["verified"]) == sorted(expected), reports


def test_a_cli_key_backup_opens_in_the_page(server, cli, members, invite):
    dave, _, _ = cli_and_browser_matched(cli, members, invite)
    folder = pathlib.Path(server.folder)
    dave_backup = folder / "dave.reciprocity-backup"
    dave.run("key", "export", "--out", str(dave_backup), "--passphrase-file", str(passphrase_file(folder)))
    browser_dave = members("dave")
    browser_dave.page.goto(server.base + "/")
    browser_dave.page.set_input_files("#restore-welcome-file", str(dave_backup))
    browser_dave.page.fill("#restore-welcome-pass", PASSPHRASE)
    browser_dave.page.click("#restore-welcome button")
    expect(browser_dave.page.locator("#status")).to_contain_text("Restored: you are dave")
    expect(browser_dave.page.locator("#matches-list > li.card")).to_have_count(2)
    assert browser_dave.verified_matches() == ["erin", "erin"]
    expect(browser_dave.page.locator("#matches-list")).to_contain_text("Thank you Dave!")
