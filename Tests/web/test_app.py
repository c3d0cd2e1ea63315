#!/usr/bin/env python3
"""The members' web app end to end: a real `reciprocityd serve` on a loopback port over a fresh SQLite file,
Debian's headless Chromium driven by Playwright, and the real CLI (`reciprocity`) as another member.

Covers: joining from invite links, marking with notes and the verified match on both sides (seen by polling),
a one-sided mark that shows nothing (and a database that names no target), browser and CLI members matching
both ways, the network of a mark (same-origin only, nothing about the target), the non-extractable key, bad
input (wrong and used-up invites, a taken handle, a note over the limit, the server stopped mid-session), a
rewritten key log refused, accessibility (axe-core: no serious or critical violation on any screen), keyboard
reach, a 375-pixel viewport, and the served HTML's Subresource Integrity. Screenshots of every screen go to
Tests/web/screenshots/ (gitignored); --docs also copies the main ones to docs/screenshots/.

Prints one line per check, then `N passed, M failed`; exits 1 on any failure.

The server serves its built-in web files, so run `swift build` after editing them (the test refuses to run
against files that differ from the source folder), or pass --web-folder to serve the source folder directly.

Usage: Tests/web/test_app.py [--chromium /usr/bin/chromium] [--bin .build/debug] [--docs] [--web-folder DIR]
"""

import argparse
import base64
import hashlib
import json
import os
import pathlib
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

from playwright.sync_api import sync_playwright, expect

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = pathlib.Path(__file__).resolve().parent / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
WEB = ROOT / "Sources" / "ReciprocityWeb" / "web"
MAX_MARKS = 8
expect.set_options(timeout=20_000)


class Server:
    """`reciprocityd serve` on 127.0.0.1:<free port> over `folder/server.sqlite`."""

    def __init__(self, bin_dir, folder, web_folder=None):
        self.web_folder = web_folder
        self.bin = pathlib.Path(bin_dir)
        self.folder = pathlib.Path(folder)
        self.database = str(self.folder / "server.sqlite")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def admin(self, *arguments):
        result = subprocess.run([str(self.bin / "reciprocityd"), "admin", *arguments, "--database", self.database],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"admin {arguments}: {result.stderr}")
        return result

    def invite(self, uses=20):
        return self.admin("invite", "create", "--program", "acme", "--uses", str(uses)).stdout.strip()

    def start(self):
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            [str(self.bin / "reciprocityd"), "serve", "--database", self.database, "--port", str(self.port),
             "--log-level", "error", "--rate-limit", "0", "--join-rate-limit", "0",
             *(["--web-folder", str(self.web_folder)] if self.web_folder else [])],
            stdout=log, stderr=log)
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def rows(self, sql, *arguments):
        with sqlite3.connect(self.database, timeout=10) as db:
            return db.execute(sql, arguments).fetchall()

    def tamper(self, sql, *arguments):
        db = sqlite3.connect(self.database, timeout=10)
        with db:
            db.execute(sql, arguments)
        db.close()


class CLI:
    """The Swift CLI as a member, with its own RECIPROCITY_HOME."""

    def __init__(self, bin_dir, folder, server, home="cli-home"):
        self.bin, self.server = pathlib.Path(bin_dir), server
        self.home = pathlib.Path(folder) / home

    def run(self, *arguments):
        result = subprocess.run([str(self.bin / "reciprocity"), *arguments], capture_output=True, text=True, timeout=120,
                                env={**os.environ, "RECIPROCITY_HOME": str(self.home)})
        if result.returncode != 0:
            raise AssertionError(f"reciprocity {' '.join(arguments)}: {result.stderr}")
        return result.stdout


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def run(self, name, body):
        try:
            body()
            self.passed += 1
            print(f"PASS {name}", flush=True)
        except Exception:  # noqa: BLE001 - every failure is reported and counted
            self.failed += 1
            print(f"FAIL {name}\n" + "".join("    " + line for line in traceback.format_exc().splitlines(True)), flush=True)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def idle(page):
    """Waits until the page runs no action (the app marks <body aria-busy> while it does)."""
    expect(page.locator("body[aria-busy]")).to_have_count(0)


# --- page helpers ------------------------------------------------------------------------------------------

class Member:
    """One browser context (its own IndexedDB) with the app open."""

    def __init__(self, browser, server, handle, viewport=None):
        self.server, self.handle = server, handle
        self.context = browser.new_context(viewport=viewport or {"width": 1100, "height": 900})
        self.page = self.context.new_page()
        self.console = []
        self.requests = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r))

    def join(self, invite, display, headline="", tags=(), offers=False, seeks=False, program="acme", expect_ok=True):
        page = self.page
        page.goto("about:blank")  # a new document: a fragment-only change would not load the page again
        page.goto(f"{self.server.base}/join#program={program}&invite={invite}")
        expect(page.locator("#join-form")).to_be_visible()
        page.fill("#join-handle", self.handle)
        page.fill("#join-name", display)
        page.fill("#join-headline", headline)
        page.fill("#join-tags", ", ".join(tags))
        page.set_checked("#join-offers", offers)
        page.set_checked("#join-seeks", seeks)
        page.click("#join-form button[type=submit]")
        if expect_ok:
            expect(page.locator("#status")).to_contain_text("Welcome")
            assert page.url == self.server.base + "/", page.url
        return self

    def screen(self, name):
        self.page.click(f"#nav button[data-screen={name}]")
        expect(self.page.locator(f"#screen-{name}")).to_be_visible()
        idle(self.page)

    def search(self, text):
        """Searches the page's directory replica (no request); True when a card for `text` as a handle shows."""
        self.page.fill("#search-q", text)
        self.page.click("#search-form button")
        return self.page.locator(f"[id='dir-{text}']").count() > 0

    def select(self, handles):
        page = self.page
        self.screen("directory")
        expect(page.locator("#directory-count")).not_to_be_empty()  # the replica synced at least once
        if not all(self.search(handle) for handle in handles):
            # The replica syncs when the page opens and every few minutes: someone who joined since shows
            # after a reload (once its sync has run: the list is drawn again then, and check() waits for it).
            page.reload()
            self.screen("directory")
        for handle in handles:
            self.search(handle)
            page.check(f"[id='dir-{handle}']")

    def submit_mark(self, wants, note=""):
        """Clicks Mark; returns the requests the page made from the click until it was done."""
        page = self.page
        page.check(f"#wants-{wants}")
        page.fill("#mark-note", note)
        start = len(self.requests)
        page.click("#mark-submit")
        idle(page)
        return self.requests[start:]

    def mark(self, handles, wants, note=""):
        self.select(handles)
        return self.submit_mark(wants, note)

    def error_text(self):
        box = self.page.locator("#error")
        return box.inner_text() if box.is_visible() else ""

    def state(self):
        """The stored MemberState (JSON) or None."""
        return self.page.evaluate("""async () => {
            const db = await new Promise((ok, no) => { const r = indexedDB.open("reciprocity", 1);
                r.onupgradeneeded = () => r.result.createObjectStore("kv"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
            const value = await new Promise((ok) => { const r = db.transaction("kv").objectStore("kv").get("state"); r.onsuccess = () => ok(r.result); });
            db.close();
            return value ?? null;
        }""")

    def verified_matches(self):
        return self.page.locator("#matches-list > li.card h3").all_inner_texts()

    def shot(self, name, full_page=True):
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    def close(self):
        self.context.close()


def state_marks(member):
    state = json.loads(member.state())
    return state, [m for m in state["marks"] if m.get("handle")]


# --- the checks --------------------------------------------------------------------------------------------

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bin", default=str(ROOT / ".build" / "debug"))
    parser.add_argument("--docs", action="store_true", help="also copy the main screenshots to docs/screenshots/")
    parser.add_argument("--web-folder", help="serve the web app from this folder (e.g. the source folder, no rebuild)")
    args = parser.parse_args()
    checks = Checks()
    folder = tempfile.mkdtemp(prefix="reciprocity-web-")
    # Private copies of the executables: a build running beside this test cannot swap them mid-run.
    args.bin = snapshot_binaries(args.bin, pathlib.Path(folder) / "bin")
    server = Server(args.bin, folder, args.web_folder)
    server.admin("program", "create", "acme", "--max-marks", str(MAX_MARKS))
    invite = server.invite(50)
    server.start()
    stale = stale_assets(server)
    if stale:
        server.stop()
        print(f"the server serves other web files than {WEB.relative_to(ROOT)} ({', '.join(stale)}): run 'swift build' "
              "first, or pass --web-folder", file=sys.stderr)
        return 1
    members = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            run_all(checks, browser, server, invite, members, args)
            for member in members.values():
                member.close()
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def stale_assets(server):
    """Files of the source web folder that the server does not serve byte for byte."""
    with urllib.request.urlopen(server.base + "/web-manifest.json", timeout=5) as response:
        served = {entry["path"].removeprefix("/web/"): entry["sha256"] for entry in json.load(response)["assets"]}
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in WEB.iterdir() if p.is_file() and not p.name.startswith(".")}
    return sorted(name for name in files.keys() | served.keys() if files.get(name) != served.get(name))


def snapshot_binaries(source, target):
    target.mkdir()
    for name in ("reciprocityd", "reciprocity"):
        for attempt in range(10):
            shutil.copy2(pathlib.Path(source) / name, target / name)
            if subprocess.run([str(target / name), "--help"], capture_output=True).returncode == 0:
                break
            time.sleep(3)
        else:
            raise SystemExit(f"cannot take a working copy of {source}/{name}")
    return str(target)


def run_all(checks, browser, server, invite, members, args):
    def join_pair():
        alice = members["alice"] = Member(browser, server, "alice")
        alice.join(invite, "Alice Liddell", "Learning Swift on servers", ["swift", "linux"], seeks=True)
        bob = members["bob"] = Member(browser, server, "bob")
        bob.join(invite, "Bob Marley", "Twenty years of backend work", ["swift", "linux", "sql"], offers=True)
        for m in (alice, bob):
            state = json.loads(m.state())
            assert state["handle"] == m.handle and state["credential"].startswith("rcpm_") and state["replica"]["live"][m.handle]
            assert state["logKey"] and state["treeHead"].startswith("reciprocity-sth/v1 acme ")
        early_heads.append(state["treeHead"])
    early_heads = []
    checks.run("two browser contexts join from an invite link; state is the CLI's MemberState shape", join_pair)

    def mark_and_match():
        alice, bob = members["alice"], members["bob"]
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
        # The fingerprint shown with the match is the one bob's own Keys screen shows.
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
    checks.run("both mark each other (mentor/mentee, notes); both see the verified match and the other's note", mark_and_match)

    def invite_link():
        made = server.admin("invite", "create", "--program", "acme", "--uses", "3", "--public-url", server.base + "/")
        code = made.stdout.strip()
        assert re.fullmatch(r"rcpi_[A-Za-z0-9_-]+", code), made.stdout
        link = f"{server.base}/join#program=acme&invite={code}"
        assert made.stderr.strip() == f"join link: {link}", made.stderr
        bare = server.admin("invite", "create", "--program", "acme")
        assert bare.stderr.startswith(f"join link: /join#program=acme&invite={bare.stdout.strip()} "), bare.stderr
        # The printed link opens the join form with both filled in, and the address bar drops the code after joining.
        gina = members["gina"] = Member(browser, server, "gina")
        gina.page.goto(link)
        expect(gina.page.locator("#join-invite")).to_have_value(code)
        expect(gina.page.locator("#join-program")).to_have_value("acme")
        gina.join(code, "Gina Link", "Joined from the printed link", ["swift"], offers=True)
        assert code not in gina.page.url
    checks.run("invite create prints the join link (--public-url; the path alone without it); the link opens the join form", invite_link)

    def one_sided():
        alice = members["alice"]
        carol = members["carol"] = Member(browser, server, "carol")
        carol.join(invite, "Carol Danvers", "Product manager", ["leadership"], seeks=True)
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
        carol_id = server.rows("SELECT id FROM member WHERE handle = 'carol'")[0][0]
        alice_id = server.rows("SELECT id FROM member WHERE handle = 'alice'")[0][0]
        assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", carol_id)[0][0] == MAX_MARKS
        # The database dump names no target: outside the member, tag and key-log rows neither alice's handle nor
        # her key appears, and no mark row carries her id.
        with sqlite3.connect(server.database) as db:
            dump = list(db.iterdump())
        allowed = ('INSERT INTO "member"', 'INSERT INTO "member_tag"', 'INSERT INTO "key_log"', "CREATE ", 'INSERT INTO "sqlite_sequence"')
        for line in dump:
            if line.startswith(allowed):
                continue
            assert "alice" not in line.lower() and alice_key.hex() not in line.lower(), line[:200]
        assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", alice_id)[0][0] == MAX_MARKS - 1
    checks.run("a third marks one of them one-sidedly: one POST, same-origin, nothing about the target; nobody sees anything; the dump names no target", one_sided)

    def key_not_extractable():
        outcome = stored_secrets_check(members["carol"].page)
        assert outcome["key"]["type"] == "private" and outcome["key"]["algorithm"] == "X25519", outcome
        assert outcome["key"]["extractable"] is False and all(not e.endswith("exported") for e in outcome["key"]["exports"]), outcome
        assert outcome["deviceKey"]["extractable"] is False and all(not e.endswith("exported") for e in outcome["deviceKey"]["exports"]), outcome
        assert outcome["sealedBytes"] == 32 + 16, outcome
    checks.run("crypto.subtle.exportKey on the stored private key (and on the device key) fails", key_not_extractable)

    def cli_both_ways():
        dave = CLI(args.bin, server.folder, server)
        dave.run("join", "--server", server.base, "--program", "acme", "--invite", invite, "--handle", "dave",
                 "--display-name", "Dave CLI", "--tag", "rust", "--offers-mentoring")
        erin = members["erin"] = Member(browser, server, "erin")
        erin.join(invite, "Erin Browser", "Wants to learn Rust", ["rust"], seeks=True)
        # The CLI marks first, the browser reciprocates.
        dave.run("interest", "add", "erin", "--as", "mentee", "--note", "Erin, I can mentor you in Rust.")
        erin.mark(["dave"], "mentor", note="Thank you Dave!")
        erin.screen("matches")
        expect(erin.page.locator("#matches-list")).to_contain_text("Erin, I can mentor you in Rust.")
        # The browser marks first, the CLI reciprocates.
        erin.mark(["dave"], "peer")
        expect(erin.page.locator("#status")).to_contain_text("Marked privately: dave")
        dave.run("interest", "add", "erin", "--as", "peer")
        reports = json.loads(dave.run("matches", "--json"))
        got = sorted((r["handle"], r["wants"], r["verified"], r.get("note")) for r in reports)
        assert got == [("erin", "mentee", True, "Thank you Dave!"), ("erin", "peer", True, None)], got
        erin.screen("matches")
        expect(erin.page.locator("#matches-list > li.card")).to_have_count(2, timeout=30_000)
        assert erin.verified_matches() == ["dave", "dave"]
    checks.run("a browser member and a CLI member match both ways (mentorship with notes, then peers)", cli_both_ways)

    def bad_invites():
        frank = members["frank"] = Member(browser, server, "frank")
        frank.join("rcpi_" + "A" * 43, "Frank", expect_ok=False)
        expect(frank.page.locator("#error")).to_contain_text("This invite does not work")
        assert frank.state() is None, "a refused join stores nothing"
        frank.shot("error-invite")
        used = server.invite(1)
        june = members["june"] = Member(browser, server, "june")
        june.join(used, "June")
        hank = Member(browser, server, "hank")
        hank.join(used, "Hank", expect_ok=False)
        expect(hank.page.locator("#error")).to_contain_text("This invite does not work")
        assert hank.state() is None
        hank.close()
    checks.run("a wrong invite and a used-up invite: a clear message, nothing stored", bad_invites)

    def handle_taken():
        frank = members["frank"]
        frank.handle = "Frank!"
        frank.join(invite, "Frank", expect_ok=False)
        expect(frank.page.locator("#error")).to_contain_text("A handle is 3 to 64 characters")
        assert frank.state() is None
        frank.handle = "alice"
        frank.join(invite, "Frank", expect_ok=False)
        expect(frank.page.locator("#error")).to_contain_text("That handle is taken")
        assert frank.state() is None
        frank.handle = "a1ice"  # looks like alice: taken too
        frank.page.fill("#join-handle", "a1ice")
        frank.page.click("#join-form button[type=submit]")
        expect(frank.page.locator("#error")).to_contain_text("That handle is taken")
        # The same form, another handle: it goes through (the invite was not spent by the refusals).
        frank.handle = "frank"
        frank.page.fill("#join-handle", "frank")
        frank.page.click("#join-form button[type=submit]")
        expect(frank.page.locator("#status")).to_contain_text("Welcome")
        assert json.loads(frank.state())["handle"] == "frank"
    checks.run("an invalid handle, a taken one and a look-alike: a clear message, nothing stored, the next try works", handle_taken)

    def note_too_long():
        frank = members["frank"]
        frank.select(["alice"])
        frank.page.fill("#mark-note", "é" * 255)
        expect(frank.page.locator("#note-count")).to_have_text("510 of 510 bytes")
        before = frank.state()
        requests = frank.submit_mark("mentor", note="é" * 255 + "x")
        expect(frank.page.locator("#note-count")).to_contain_text("1 too many")
        expect(frank.page.locator("#error")).to_contain_text("at most 510 bytes")
        assert not [r for r in requests if r.method != "GET"] and not requests, [r.url for r in requests]
        assert frank.state() == before
    checks.run("a note over 510 bytes: the live counter says so, the mark is refused before any request", note_too_long)

    def server_stopped():
        frank = members["frank"]
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
        frank_id = server.rows("SELECT id FROM member WHERE handle = 'frank'")[0][0]
        assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", frank_id)[0][0] == MAX_MARKS
    checks.run("the server stopped mid-session: a clear message, nothing changed; after a restart the mark goes through", server_stopped)

    def interests_and_withdraw():
        frank = members["frank"]
        frank.screen("interests")
        expect(frank.page.locator("#interests-list")).to_contain_text("alice")
        frank.page.click("#interests-list button")
        expect(frank.page.locator("#status")).to_contain_text("Withdrew your interest in alice")
        expect(frank.page.locator("#interests-list")).to_contain_text("You have not marked anyone yet")
        frank_id = server.rows("SELECT id FROM member WHERE handle = 'frank'")[0][0]
        assert server.rows("SELECT COUNT(*) FROM mark WHERE member_id = ?", frank_id)[0][0] == MAX_MARKS
    checks.run("my interests: withdraw one (replaced by a dummy: the server still holds P marks)", interests_and_withdraw)

    def several_and_forget():
        gina = members["gina"]
        gina.select(["bob", "carol"])
        expect(gina.page.locator("#mark-submit")).to_have_text("Mark 2 people privately")
        requests = gina.submit_mark("peer")
        expect(gina.page.locator("#status")).to_contain_text("Marked privately: bob, carol as a peer")
        posts = [r for r in requests if r.method == "POST"]
        assert len(posts) == 1, [r.url for r in posts]
        body = json.loads(posts[0].post_data)
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
    checks.run("mark several at once (one POST: two in, two dummies out); 'Forget this device' wipes IndexedDB", several_and_forget)

    def two_tabs():
        carol = members["carol"]
        carol_id = server.rows("SELECT id FROM member WHERE handle = 'carol'")[0][0]
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
    checks.run("two tabs of one browser: a tab opened earlier never undoes the other's change (Web Lock, stored state)", two_tabs)

    def sri_enforced():
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
    checks.run("a module imported by a module is held to SRI too (modulepreload integrity): a changed one stops the app", sri_enforced)

    def screens_accessible():
        alice = members["alice"]
        for name in ["profile", "directory", "interests", "matches", "keys", "device"]:
            alice.screen(name)
            assert not alice.error_text(), f"{name}: {alice.error_text()}"
            axe_check(alice, name)
            alice.shot(name)
        fresh = Member(browser, server, "visitor")
        fresh.page.goto(server.base + "/")
        expect(fresh.page.locator("#screen-welcome")).to_be_visible()
        axe_check(fresh, "welcome")
        fresh.shot("welcome")
        fresh.page.goto(f"{server.base}/join#program=acme&invite={invite}")
        expect(fresh.page.locator("#screen-join")).to_be_visible()
        axe_check(fresh, "join")
        fresh.shot("join")
        fresh.close()
        frank = members["frank"]
        frank.screen("device")
        axe_check(frank, "device with an error")
    checks.run("axe-core: no serious or critical violation on any screen (screenshots saved)", screens_accessible)

    def keyboard():
        alice = members["alice"]
        page = alice.page
        page.goto(server.base + "/")
        expect(page.locator("#screen-profile")).to_be_visible()
        seen = []
        for _ in range(40):
            page.keyboard.press("Tab")
            seen.append(page.evaluate("() => { const e = document.activeElement; return e.dataset.screen || e.id || e.textContent.trim(); }"))
        for screen in ["profile", "directory", "interests", "matches", "keys", "device"]:
            assert screen in seen, (screen, seen)
        for control in ["profile-name", "profile-offers"]:
            assert control in seen, (control, seen)
        # Open the directory by keyboard, select someone and reach the mark button.
        page.focus("#nav button[data-screen=directory]")
        page.keyboard.press("Enter")
        expect(page.locator("#screen-directory")).to_be_visible()
        idle(page)
        seen = []
        for _ in range(80):
            page.keyboard.press("Tab")
            focused = page.evaluate("() => document.activeElement.id")
            seen.append(focused)
            if focused == "dir-carol" and seen.count(focused) == 1:
                page.keyboard.press("Space")
        assert "dir-carol" in seen and "mark-note" in seen and "mark-submit" in seen, seen
        expect(page.locator("#mark-selected")).to_contain_text("carol")
        page.uncheck("[id='dir-carol']")
    checks.run("keyboard: every screen and control reachable with Tab, selection with Space", keyboard)

    def narrow():
        ivy = members["ivy"] = Member(browser, server, "ivy", viewport={"width": 375, "height": 812})
        ivy.join(invite, "Ivy Narrow", "On a phone", ["swift", "design"], seeks=True, offers=True)
        ivy.shot("mobile-profile")
        for name in ["profile", "directory", "interests", "matches", "keys", "device"]:
            ivy.screen(name)
            width = ivy.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, f"{name}: the page is {width} px wide at a 375 px viewport"
            axe_check(ivy, f"{name} at 375 px")
            ivy.shot(f"mobile-{name}")
        ivy.select(["bob"])
        ivy.submit_mark("mentor", note="From my phone")
        expect(ivy.page.locator("#status")).to_contain_text("Marked privately: bob")
        ivy.screen("interests")
        expect(ivy.page.locator("#interests-list")).to_contain_text("bob")
        ivy.shot("mobile-interests-screen", full_page=False)
    checks.run("usable at a 375-pixel viewport: no sideways scrolling, axe-clean, a mark goes through", narrow)

    def keys_screen_and_rotation():
        bob = members["bob"]
        bob.screen("keys")
        before = bob.page.locator("#my-fingerprint").inner_text()
        bob.page.fill("#fingerprint-handle", "alice")
        bob.page.click("#fingerprint-form button")
        idle(bob.page)
        alice = members["alice"]
        alice.screen("keys")
        expect(bob.page.locator("#fingerprint-result")).to_contain_text(alice.page.locator("#my-fingerprint").inner_text())
        bob.page.click("#rotate-start")
        bob.page.click("#rotate-go")
        expect(bob.page.locator("#status")).to_contain_text("Your key was replaced")
        after = bob.page.locator("#my-fingerprint").inner_text()
        assert after != before
        # Ivy marked bob before: her mark waits for her to trust bob's new key, and marking him is refused.
        ivy = members["ivy"]
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

    def backups():
        folder = pathlib.Path(server.folder)
        passphrase = "correct horse battery staple"
        pass_file = folder / "passphrase.txt"
        pass_file.write_text(passphrase + "\n")
        pass_file.chmod(0o600)
        alice = members["alice"]
        alice.screen("matches")
        expected = alice.verified_matches()
        alice.screen("device")
        alice.page.fill("#export-pass", passphrase)
        alice.page.fill("#export-pass2", passphrase + "!")
        alice.page.click("#export-form button")
        expect(alice.page.locator("#error")).to_contain_text("The two passphrases differ")
        alice.page.fill("#export-pass", passphrase)
        alice.page.fill("#export-pass2", passphrase)
        with alice.page.expect_download() as download:
            alice.page.click("#export-form button")
        backup = folder / "alice.reciprocity-backup"
        download.value.save_as(backup)
        expect(alice.page.locator("#status")).to_contain_text("backup was downloaded")
        assert json.loads(backup.read_text())["format"] == "reciprocity-key-backup"
        # A fresh browser: a wrong passphrase changes nothing; the right one brings the membership and its matches.
        other = Member(browser, server, "alice")
        other.page.goto(server.base + "/")
        expect(other.page.locator("#screen-welcome")).to_be_visible()
        other.page.set_input_files("#restore-welcome-file", str(backup))
        other.page.fill("#restore-welcome-pass", "not the passphrase at all")
        other.page.click("#restore-welcome button")
        expect(other.page.locator("#error")).to_contain_text("does not open this backup")
        assert other.state() is None
        other.page.set_input_files("#restore-welcome-file", str(backup))
        other.page.fill("#restore-welcome-pass", passphrase)
        other.page.click("#restore-welcome button")
        expect(other.page.locator("#status")).to_contain_text("Restored: you are alice")
        expect(other.page.locator("#matches-list > li.card")).to_have_count(len(expected))
        assert other.verified_matches() == expected
        expect(other.page.locator("#matches-list")).to_contain_text("Happy to, Alice.")
        assert stored_secrets_check(other.page)["key"]["extractable"] is False
        assert state_marks(other)[1] == state_marks(alice)[1], "the interests come back, pending and matched"
        other.screen("interests")
        expect(other.page.locator("#interests-list")).to_contain_text("bob")
        other.close()
        # The same file in the CLI.
        cli_alice = CLI(args.bin, server.folder, server, home="cli-alice")
        cli_alice.run("key", "import", str(backup), "--passphrase-file", str(pass_file))
        reports = json.loads(cli_alice.run("matches", "--json"))
        assert sorted(r["handle"] for r in reports if r["verified"]) == sorted(expected), reports
        # And a CLI backup opened in the browser.
        dave = CLI(args.bin, server.folder, server)
        dave_backup = folder / "dave.reciprocity-backup"
        dave.run("key", "export", "--out", str(dave_backup), "--passphrase-file", str(pass_file))
        browser_dave = Member(browser, server, "dave")
        browser_dave.page.goto(server.base + "/")
        browser_dave.page.set_input_files("#restore-welcome-file", str(dave_backup))
        browser_dave.page.fill("#restore-welcome-pass", passphrase)
        browser_dave.page.click("#restore-welcome button")
        expect(browser_dave.page.locator("#status")).to_contain_text("Restored: you are dave")
        expect(browser_dave.page.locator("#matches-list > li.card")).to_have_count(2)
        assert browser_dave.verified_matches() == ["erin", "erin"]
        expect(browser_dave.page.locator("#matches-list")).to_contain_text("Thank you Dave!")
        browser_dave.close()
    checks.run("key backup: export in one context, import in a fresh one and in the CLI (same matches); a CLI backup opens in the page", backups)
    # After the backups (the backup checks expect the matches as they were before the rotation).
    checks.run("keys: fingerprints agree across members; rotation; a changed key blocks marking until checked and trusted", keys_screen_and_rotation)

    def tree_head_gossip():
        erin, alice = members["erin"], members["alice"]
        dave = CLI(args.bin, server.folder, server)
        erin.screen("keys")
        shown = erin.page.locator("#my-tree-head").input_value()
        stored = json.loads(erin.state())["treeHead"]
        assert shown.split(" ")[:4] == stored.split(" ")[:4] and shown.startswith("reciprocity-sth/v1 acme "), (shown, stored)

        def check(member, line):
            member.page.fill("#gossip-head", line)
            member.page.click("#gossip-form button[type=submit]")
            idle(member.page)
            return member.page.locator("#gossip-result").inner_text()

        # A CLI member's `reciprocity key head` and another browser context's head: consistent.
        cli_head = dave.run("key", "head").strip()
        assert cli_head.startswith("reciprocity-sth/v1 acme "), cli_head
        assert check(erin, cli_head).startswith("Consistent"), erin.page.locator("#gossip-result").inner_text()
        alice.screen("keys")
        assert check(alice, erin.page.locator("#my-tree-head").input_value()).startswith("Consistent")
        # A head from before later joins and a rotation: smaller, proved consistent by the server's proof.
        old = early_heads[0]
        assert int(old.split(" ")[2]) < int(alice.page.locator("#my-tree-head").input_value().split(" ")[2])
        assert check(alice, old).startswith("Consistent")
        # A tampered line (one root character changed): its signature does not verify.
        fields = cli_head.split(" ")
        fields[3] = ("B" if fields[3][0] != "B" else "C") + fields[3][1:]
        result = check(erin, " ".join(fields))
        assert "not signed by your program's log key" in result and "log-signature" in result, result
        # A head for the same size with its size field changed: the signature binds it too.
        fields = cli_head.split(" ")
        fields[2] = str(int(fields[2]) + 1)
        result = check(erin, " ".join(fields))
        assert "log-signature" in result, result
        # A head signed with the program's real log key but dated an hour ahead (past the 5-minute skew).
        result = check(erin, resign(cli_head, int(time.time() * 1000) + 3_600_000, server.database + ".log-key"))
        assert "dated in the future" in result and "log-future-head" in result, result
        # Garbage.
        result = check(erin, "hello, this is not a head")
        assert "not a tree head line" in result and "log-invalid-head" in result, result
        assert not erin.error_text(), erin.error_text()
        axe_check(erin, "keys-gossip")
    checks.run("tree heads: shown on Keys; a CLI member's and another context's head check consistent; tampered, future-dated and garbage refused", tree_head_gossip)

    def epochs_and_quota():
        ivy, bob = members["ivy"], members["bob"]
        ivy_id = server.rows("SELECT id FROM member WHERE handle = 'ivy'")[0][0]
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
    checks.run("a new epoch derives pending interests again (and matches in it); an epoch going back or a lowered quota is refused", epochs_and_quota)

    def tampered_matches():
        erin = members["erin"]
        dave_id = server.rows("SELECT id FROM member WHERE handle = 'dave'")[0][0]
        erin_id = server.rows("SELECT id FROM member WHERE handle = 'erin'")[0][0]
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
        axe_check(erin, "matches with warnings")
        erin.shot("matches-warnings")
    checks.run("a match whose tag does not verify is a warning, never a match; a note that does not open is a warning", tampered_matches)

    def rotation_with_a_match_pending():
        kate = members["kate"] = Member(browser, server, "kate")
        kate.join(invite, "Kate Bush", "Songs and dance", ["music"])
        leo = members["leo"] = Member(browser, server, "leo")
        leo.join(invite, "Leo Tolstoy", "Long novels", ["books"])
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
    checks.run("a rotation while a match awaits verification keeps the membership and shows the match; the counterpart's match still verifies after that rotation", rotation_with_a_match_pending)

    def foreign_key_for_own_handle():
        june = members["june"]
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
    checks.run("a key change to one's own handle that this device did not make is caught (log-foreign-key)", foreign_key_for_own_handle)

    def log_rewritten():
        alice = members["alice"]
        alice.screen("keys")  # syncs: alice has verified the current head
        old_head = alice.page.locator("#my-tree-head").input_value()
        substitute = os.urandom(32)
        substitute = bytes([substitute[0]]) + substitute[1:31] + bytes([substitute[31] & 0x3F])
        server.stop()
        server.tamper("UPDATE member SET public_key = ? WHERE handle = 'carol'", substitute)
        server.tamper("UPDATE key_log SET public_key = ? WHERE handle = 'carol'", substitute)
        server.start()
        before = alice.state()
        alice.select(["carol"]) if False else None
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
        quentin = members["quentin"] = Member(browser, server, "quentin")
        quentin.join(server.invite(1), "Quentin")
        quentin.screen("keys")
        quentin.page.fill("#gossip-head", old_head)
        quentin.page.click("#gossip-form button[type=submit]")
        idle(quentin.page)
        result = quentin.page.locator("#gossip-result").inner_text()
        assert result.startswith("Fork:") and "log-fork" in result, result
    checks.run("a key swapped in the database behind the log's back: the page refuses to mark, with the log error; a head from before it, gossiped to a newcomer, shows the fork", log_rewritten)

    def whole_session_network():
        seen = 0
        for member in members.values():
            for request in member.requests:
                if request.url == "about:blank":
                    continue
                seen += 1
                assert request.url.startswith((server.base + "/", "blob:" + server.base + "/")), f"{member.handle}: {request.url}"
                assert "/v1/directory" not in request.url, f"{member.handle} asked the server's directory: {request.url}"
        assert seen > 100, seen
    checks.run("the whole session: every request of every page is same-origin, and none asks the server's directory (searched locally)", whole_session_network)

    if args.docs:
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        for name in ["join", "directory", "matches", "interests", "keys-changed", "mobile-interests-screen", "error-log", "matches-warnings"]:
            if (SHOTS / f"{name}.png").exists():
                shutil.copy(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


AXE = None


def axe_check(member, name):
    """axe-core on the page as it is now: no serious or critical violation."""
    global AXE
    from axe_playwright_python.sync_playwright import Axe
    AXE = AXE or Axe()
    violations = [v for v in AXE.run(member.page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not violations, f"{name}: " + "; ".join(f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in violations)


def stored_secrets_check(page):
    """What the stored keys allow: use, never export."""
    return page.evaluate("""async () => {
        const db = await new Promise((ok, no) => { const r = indexedDB.open("reciprocity", 1); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
        const get = (k) => new Promise((ok) => { const r = db.transaction("kv").objectStore("kv").get(k); r.onsuccess = () => ok(r.result); });
        const key = await get("key"), device = await get("deviceKey"), sealed = await get("sealedKey");
        db.close();
        const outcome = {};
        for (const [name, k] of [["key", key], ["deviceKey", device]]) {
            outcome[name] = { type: k.type, algorithm: k.algorithm.name, extractable: k.extractable, exports: [] };
            for (const format of name === "key" ? ["pkcs8", "jwk", "raw"] : ["raw", "jwk"]) {
                try { await crypto.subtle.exportKey(format, k); outcome[name].exports.push(format + ": exported"); }
                catch (e) { outcome[name].exports.push(format + ": " + e.name); }
            }
        }
        outcome.sealedBytes = sealed.data.byteLength;
        return outcome;
    }""")


if __name__ == "__main__":
    sys.exit(main())
