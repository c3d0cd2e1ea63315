#!/usr/bin/env python3
"""What the members' web app sends around a change of marks must not say which change it was, nor whom it
concerns (issue #23, Specs/client.md section 3), for real: a `reciprocityd serve` on loopback over a fresh SQLite
file, the real CLI as the other members, Debian's headless Chromium driven by Playwright.

Alice's page makes six changes, each in the same frame: another member rotates their key (the key log grows by
one entry, as it must before a trust), alice opens the screen the change is made on, prepares it, clicks, and
the page's requests are recorded (method, route, body size) from the screen's opening to several seconds after
the POST /v1/marks. The changes: add bob, add carol, a new note on bob, withdraw carol, trust dave's new key
(alice's pending mark on him is derived again) and trust erin's (pinned by a fingerprint look-up, no mark).
Every one must show the same requests: when the screen opens, from the click to the POST, and after it. The
page's poll timer cannot fall in a window by chance: the page's clock is Playwright's, paused, so no timer fires
unless the test runs it (it runs it once at the end: one poll, on its own).

Also: every screen opens with the same requests; on a plain-http origin that is not localhost the page says it
needs https (no uncaught error, nothing sent); a service worker found at start is unregistered, and the CSP
forbids registering one; the invite code leaves the address bar and the tab's history entry before the join
request goes out.

Prints one line per check, then `N passed, M failed`; exits 1 on any failure.

Usage: Tests/web/test_sequences.py [--chromium /usr/bin/chromium] [--bin .build/debug] [--web-folder DIR]
(--web-folder serves that folder's web files instead of the built-in ones, e.g. an older version of them.)
"""

import argparse
import json
import pathlib
import re
import shutil
import sys
import tempfile
import time
import types
import urllib.parse
import urllib.request

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_app import CLI, Checks, Member, Server, axe_check, idle, snapshot_binaries, stale_assets  # noqa: E402

WINDOW_S = 3.0  # recorded after each POST
POLL_MS = 10_000  # screen-matches.js POLL_MS
DIRECTORY_SYNC_MS = 180_000  # screen-directory.js DIRECTORY_SYNC_MS
# A name for the loopback address: Chromium treats http://127.x.y.z as a secure context, so an insecure origin
# needs a name other than localhost.
INSECURE_HOST = "reciprocity.test"
TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_-]{43}(?=/|$)")


class Recorder:
    """Every request a page sends, in order: (monotonic seconds, method, route, body bytes, URL and body). A route
    is the path, a token in it written {token}, and the names (not the values) of its query parameters."""

    def __init__(self, page):
        self.entries = []
        page.on("request", self.add)

    def add(self, request):
        url = urllib.parse.urlsplit(request.url)
        names = sorted(urllib.parse.parse_qs(url.query, keep_blank_values=True))
        route = TOKEN_SEGMENT.sub("/{token}", url.path) + ("?" + "&".join(names) if names else "")
        body = request.post_data_buffer
        self.entries.append((time.monotonic(), request.method, route, len(body) if body else 0,
                             request.url + (body.decode("utf-8", "replace") if body else "")))

    def mark(self):
        return len(self.entries)


def shape(entries):
    return [(method, route, size) for _, method, route, size, _ in entries]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bin", default=str(pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug"))
    parser.add_argument("--web-folder", help="serve the web app from this folder (e.g. an older version of it)")
    args = parser.parse_args()
    checks = Checks()
    folder = tempfile.mkdtemp(prefix="reciprocity-sequences-")
    args.bin = snapshot_binaries(args.bin, pathlib.Path(folder) / "bin")
    server = Server(args.bin, folder, args.web_folder)
    server.admin("program", "create", "acme", "--max-marks", "8")
    invite = server.invite(50)
    server.start()
    stale = [] if args.web_folder else stale_assets(server)
    if stale:
        server.stop()
        print(f"the server serves other web files than the source folder ({', '.join(stale)}): run 'swift build' "
              "first, or pass --web-folder", file=sys.stderr)
        return 1
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium,
                args=["--no-sandbox", f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"])
            run_all(checks, browser, server, invite, args)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def run_all(checks, browser, server, invite, args):
    cli = {}
    for handle in ("bob", "carol", "dave", "erin", "yan", "zed"):
        cli[handle] = CLI(args.bin, server.folder, server, home=f"cli-{handle}")
        cli[handle].run("join", "--server", server.base, "--program", "acme", "--invite", invite, "--handle", handle,
                        "--display-name", handle.capitalize(), "--tag", "swift")
    alice = Member(browser, server, "alice")
    # Playwright's clock in alice's page: it runs as usual while she joins, then stops, so that the poll timer
    # fires only when the test says.
    alice.context.clock.install()
    alice.join(invite, "Alice", "Learning Swift", ["swift"], seeks=True)
    record = Recorder(alice.page)
    page = alice.page

    def mark_on_directory(handle, wants, note=""):
        page.check(f"[id='dir-{handle}']")
        page.check(f"#wants-{wants}")
        page.fill("#mark-note", note)

    # Alice's pending mark on dave, and erin's key pinned by a look-up: both get a trust after a rotation.
    alice.screen("directory")
    mark_on_directory("dave", "mentor", "Dave, would you mentor me?")
    page.click("#mark-submit")
    expect(page.locator("#status")).to_contain_text("Marked privately: dave")
    alice.screen("keys")
    page.fill("#fingerprint-handle", "erin")
    page.click("#fingerprint-form button")
    expect(page.locator("#fingerprint-result")).to_contain_text("erin: ")
    idle(page)
    page.clock.pause_at(time.time() + 1)
    idle(page)

    def screens_alike():
        seen = {}
        for name in ["profile", "directory", "interests", "matches", "keys", "device"]:
            start = record.mark()
            alice.screen(name)
            seen[name] = shape(record.entries[start:])
        poll = seen["profile"]
        assert poll and all(route.startswith("/v1/") for _, route, _ in poll), poll
        different = {name: s for name, s in seen.items() if s != poll}
        assert not different, f"profile opens with {poll}; but {different}"
    checks.run("every screen opens with the same requests (one poll), whichever it is", screens_alike)

    def run_change(rotator, screen, prepare, click):
        """One change in the common frame: the log grows, the screen opens, the change is prepared and clicked;
        returns the recorded requests (screen, prepare, action up to the POST, after it) and two timings."""
        cli[rotator].run("key", "rotate")
        page.clock.set_system_time(time.time())  # the page's Date stays right while its timers stay stopped
        start = record.mark()
        alice.screen(screen)
        shown = record.mark()
        prepare()
        clicked = record.mark()
        click_time = time.monotonic()
        click()
        idle(page)
        assert not alice.error_text(), alice.error_text()
        posts = [i for i in range(clicked, record.mark()) if record.entries[i][1] == "POST"]
        assert len(posts) == 1, f"one POST per change: {shape(record.entries[clicked:])}"
        post = posts[0]
        sent = record.entries[post][0]
        time.sleep(max(0.0, sent + WINDOW_S - time.monotonic()))
        after = [e for e in record.entries[post + 1:] if e[0] <= sent + WINDOW_S]
        return {
            "screen": shape(record.entries[start:shown]), "prepare": shape(record.entries[shown:clicked]),
            "action": shape(record.entries[clicked:post + 1]), "after": shape(after),
            "click to POST ms": round((sent - click_time) * 1000), "GET /v1/marks to POST ms":
                round((sent - record.entries[post - 1][0]) * 1000),
            "GET /v1/matches to GET /v1/marks ms": round((record.entries[post - 1][0] - record.entries[post - 2][0]) * 1000),
        }

    def directory_change(handle, wants, note):
        return lambda: mark_on_directory(handle, wants, note)

    changes = {}

    def change(name, rotator, screen, prepare, click, confirm):
        def body():
            changes[name] = run_change(rotator, screen, prepare, click)
            expect(page.locator("#status")).to_contain_text(confirm)
        checks.run(f"change: {name}", body)

    submit = lambda: page.click("#mark-submit")  # noqa: E731
    change("add bob", "yan", "directory", directory_change("bob", "mentor", "Hello Bob"), submit, "Marked privately: bob")
    change("add carol", "zed", "directory", directory_change("carol", "peer", ""), submit, "Marked privately: carol")
    change("a new note on bob", "yan", "directory", directory_change("bob", "mentor", "Hello again, Bob"), submit,
           "Marked privately: bob")
    change("withdraw carol", "zed", "interests", lambda: None,
           lambda: page.click("#interests-list button:has-text('Withdraw carol')"), "Withdrew your interest in carol")
    change("trust dave (a pending mark on him)", "dave", "keys", lambda: None,
           lambda: page.click("#changed-keys button:has-text('dave')"), "You now trust dave's new key")
    change("trust erin (no mark on her)", "erin", "keys", lambda: None,
           lambda: page.click("#changed-keys button:has-text('erin')"), "You now trust erin's new key")

    def same_requests():
        assert len(changes) == 6, f"only {sorted(changes)} ran"
        for name, seen in changes.items():
            print(f"    {name}: click to POST {seen['click to POST ms']} ms, GET /v1/matches to GET /v1/marks "
                  f"{seen['GET /v1/matches to GET /v1/marks ms']} ms, GET /v1/marks to POST {seen['GET /v1/marks to POST ms']} ms; "
                  f"action {seen['action']}; after {seen['after']}")
        first = next(iter(changes))
        # A trust replaces three marks whatever it finds (client.md section 3): the same requests as an add, a
        # larger POST, the same for every trust.
        first_trust = next(name for name in changes if name.startswith("trust"))
        problems = []
        for part in ("prepare", "action", "after"):
            for name, seen in changes.items():
                like = first_trust if part == "action" and name.startswith("trust") else first
                if seen[part] != changes[like][part]:
                    problems.append(f"{part}: {like} {changes[like][part]} but {name} {seen[part]}")
        routes = lambda seen: [(method, route) for method, route, _ in seen["action"]]  # noqa: E731
        problems += [f"routes: {name}" for name, seen in changes.items() if routes(seen) != routes(changes[first])]
        # Opening the screen the change is made on: the same poll whichever screen (the directory is local).
        reference = changes[first]["screen"]
        problems += [f"screen: {name} {seen['screen']} vs {reference}" for name, seen in changes.items() if seen["screen"] != reference]
        assert not problems, "\n".join(problems)
        assert changes[first]["action"][-1][:2] == ("POST", "/v1/marks"), changes[first]["action"]
    checks.run("add, a new note, withdraw and trust: the same requests before the POST, the same POST size (every trust's alike), the same after it", same_requests)

    def searches_send_nothing():
        alice.screen("directory")
        expect(page.locator("[id='dir-bob']")).to_be_visible()

        def search(q="", tag="", offers=False, seeks=False):
            start = record.mark()
            page.fill("#search-q", q)
            page.fill("#search-tag", tag)
            page.set_checked("#search-offers", offers)
            page.set_checked("#search-seeks", seeks)
            page.click("#search-form button")
            if not page.locator("#page-next").is_disabled():
                page.click("#page-next")
                page.click("#page-prev")
            time.sleep(1.0)
            idle(page)
            return page.locator("#directory-list h3").all_inner_texts(), record.entries[start:]

        found, sent = search("bob")
        other, sent_other = search("Car", tag="swift", offers=True)
        named = [text for _, _, _, _, text in sent + sent_other if re.search("bob|car|swift", text, re.I)]
        assert not named, f"requests carry the search: {named}"
        assert shape(sent) == shape(sent_other) == [], (shape(sent), shape(sent_other))
        assert found == ["Bob"] and other == [], (found, other)
        assert search("Car", tag="swift")[0] == ["Carol"]
    checks.run("searching the directory (text, tag, filters, paging) sends no request: the same (none) for two searches", searches_send_nothing)

    def incremental_sync():
        cli["bob"].run("profile", "set", "--headline", "Kites and gliders")
        cli["carol"].run("profile", "set", "--display-name", "Zoë Ünal")
        alice.screen("directory")
        page.fill("#search-q", "gliders")
        page.click("#search-form button")
        expect(page.locator("#directory-list")).to_contain_text("Nobody matches this search.")
        page.clock.set_system_time(time.time())
        start = record.mark()
        page.clock.fast_forward(DIRECTORY_SYNC_MS)  # the sync timer's turn (and the poll's, once)
        expect(page.locator("#directory-list")).to_contain_text("Kites and gliders")  # drawn again when it changed
        idle(page)
        routes = [route for _, route, _ in shape(record.entries[start:])]
        assert routes.count("/v1/profiles?since") == 1 and "/v1/profiles" not in routes, routes
        # Case, width and diacritics fold as the server's search folded them.
        for typed in ["zoe unal", "ＺＯＥ", "ÜNAL"]:
            page.fill("#search-q", typed)
            page.click("#search-form button")
            assert page.locator("#directory-list h3").all_inner_texts() == ["Zoë Ünal"], typed
        # The replica outlives a reload: the sync at start continues from its cursor.
        start = record.mark()
        page.reload()
        expect(page.locator("#screen-profile")).to_be_visible()
        idle(page)
        alice.screen("directory")
        page.fill("#search-q", "gliders")
        page.click("#search-form button")
        assert page.locator("#directory-list h3").all_inner_texts() == ["Bob"]
        routes = [route for _, route, _ in shape(record.entries[start:])]
        assert "/v1/profiles?since" in routes and "/v1/profiles" not in routes, routes
        stored = page.evaluate("""async () => {
            const db = await new Promise((ok, no) => { const r = indexedDB.open("reciprocity-directory"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
            const count = await new Promise((ok) => { const r = db.transaction("profiles").objectStore("profiles").count(); r.onsuccess = () => ok(r.result); });
            db.close();
            return count;
        }""")
        assert stored == 7, stored
    checks.run("the replica syncs on its timer (incrementally), folds as the server did, and survives a reload", incremental_sync)

    def no_directory_requests():
        asked = [route for _, _, route, _, _ in record.entries if route.startswith("/v1/directory")]
        assert not asked, asked
    checks.run("the page never asks the server's directory (GET /v1/directory)", no_directory_requests)

    def timer_poll_alone():
        idle(page)
        page.clock.set_system_time(time.time())
        start = record.mark()
        page.clock.run_for(POLL_MS)
        time.sleep(1.5)
        idle(page)
        seen = shape(record.entries[start:])
        assert [route for _, route, _ in seen] == ["/v1/me", "/v1/log/head", "/v1/matches", "/v1/marks"], seen
    checks.run("the poll timer still runs on its own: one poll when its time comes", timer_poll_alone)
    alice.close()
    lies_trusts_and_look_ups(checks, browser, server, invite, cli)

    def insecure_origin():
        context = browser.new_context()
        page = context.new_page()
        errors, requests = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        base = f"http://{INSECURE_HOST}:{server.port}"
        page.goto(f"{base}/join#program=acme&invite={invite}")
        expect(page.locator("#screen-insecure")).to_be_visible()
        text = page.locator("#screen-insecure").inner_text()
        assert "https" in text and "reverse proxy" in text and base in text, text
        assert page.locator("#screen-loading").is_hidden() and not errors, errors
        assert not [u for u in requests if "/v1/" in u], requests
        assert invite not in page.url, page.url
        axe_check(types.SimpleNamespace(page=page), "the https message")
        context.close()
    checks.run("plain http on a name other than localhost: the page says it needs https and what the operator must do", insecure_origin)

    def service_worker():
        context = browser.new_context()
        page = context.new_page()
        # A page of this origin without the app's CSP (as an older version served) registers a worker.
        page.route(server.base + "/register-a-worker",
                   lambda route: route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>w</title>"))
        page.goto(server.base + "/register-a-worker")
        registered = page.evaluate("""async () => {
            await navigator.serviceWorker.register("/web/chacha20poly1305.js", { type: "module", scope: "/web/" });
            return (await navigator.serviceWorker.getRegistrations()).length;
        }""")
        assert registered == 1, registered
        page.unroute(server.base + "/register-a-worker")
        page.goto(server.base + "/")
        expect(page.locator("#screen-welcome")).to_be_visible()
        count = lambda: page.evaluate("async () => (await navigator.serviceWorker.getRegistrations()).length")  # noqa: E731
        deadline = time.monotonic() + 10
        while count() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert count() == 0, "the page left a service worker registered"
        refused = page.evaluate("""async () => {
            try { await navigator.serviceWorker.register("/web/chacha20poly1305.js", { type: "module", scope: "/web/" }); return "registered"; }
            catch (error) { return error.name; }
        }""")
        assert refused != "registered", refused
        with urllib.request.urlopen(server.base + "/", timeout=5) as response:
            assert "worker-src 'none'" in response.headers["Content-Security-Policy"], response.headers["Content-Security-Policy"]
        context.close()
    checks.run("a service worker registered for the origin is unregistered at start; the CSP (worker-src 'none') refuses a new one", service_worker)

    def invite_leaves_history():
        gina = Member(browser, server, "gina")
        at_join = []
        gina.page.on("request", lambda r: at_join.append(gina.page.url) if r.method == "POST" and r.url.endswith("/members") else None)
        gina.join(invite, "Gina")
        assert at_join and all(invite not in url and "#" not in url for url in at_join), at_join
        # The tab's history: back leads to the page before the link, never to the link with its code.
        gina.page.go_back()
        assert invite not in gina.page.url, gina.page.url
        gina.close()
    checks.run("the invite code leaves the address bar and the tab's history entry before the join request", invite_leaves_history)


def paused_member(browser, server, invite, handle):
    """A member joined with the page's clock paused afterwards (as alice's): no timer fires unless run."""
    member = Member(browser, server, handle)
    member.context.clock.install()
    member.join(invite, handle.capitalize())
    return member


def pause(member):
    idle(member.page)
    member.page.clock.pause_at(time.time() + 1)
    idle(member.page)


def lies_trusts_and_look_ups(checks, browser, server, invite, cli):
    """What the attacker review found (2026-12-07): a lie in GET /v1/marks after a rotation, trusts that
    replaced as many marks as the member had on the person, and a fingerprint look-up with requests of its own."""

    def lie_after_a_rotation():
        # Two worlds: amy marked bob, ann marked carol. Bob rotates (public), then the server answers GET
        # /v1/marks as if it held nothing: both re-send everything, and nothing between the GET and the POST may
        # fail for the member whose mark is on bob.
        amy, ann = paused_member(browser, server, invite, "amy"), paused_member(browser, server, invite, "ann")
        amy.mark(["bob"], "mentor", "Hello Bob")
        ann.mark(["carol"], "mentor", "Hello Carol")
        for member in (amy, ann):
            pause(member)
        cli["bob"].run("key", "rotate")
        seen = {}

        def lie(route, request):
            if request.method == "GET":
                route.fulfill(status=200, content_type="application/json", body='{"marks":[]}')
            else:
                route.continue_()
        for member in (amy, ann):
            member.page.clock.set_system_time(time.time())
            record = Recorder(member.page)
            member.page.route("**/v1/marks", lie)
            member.screen("matches")
            time.sleep(1.0)
            idle(member.page)
            member.page.unroute("**/v1/marks")
            seen[member.handle] = (shape(record.entries), member.error_text())
        amy.close()
        ann.close()
        assert seen["amy"][0] == seen["ann"][0], f"amy (marked bob) {seen['amy']} but ann (marked carol) {seen['ann']}"
        assert seen["amy"][0][-1][:2] == ("POST", "/v1/marks") and not seen["amy"][1] and not seen["ann"][1], seen
    checks.run("a server that says it holds no marks after bob's rotation: the member who marked bob sends what the others send", lie_after_a_rotation)

    def trust_changes_three_marks():
        # Tess trusts four people after their rotations: one she only looked up, one she marked once, one twice,
        # one three times (mentor, mentee, peer). Each trust replaces three marks by three.
        tess = paused_member(browser, server, invite, "tess")
        pause(tess)
        kinds = {"yan": [], "dave": ["mentor"], "erin": ["mentor", "mentee"], "zed": ["mentor", "mentee", "peer"]}
        sent = {}
        for handle, wants in kinds.items():
            page = tess.page
            page.clock.set_system_time(time.time())
            if not wants:
                tess.screen("keys")
                page.fill("#fingerprint-handle", handle)
                page.click("#fingerprint-form button")
                expect(page.locator("#fingerprint-result")).to_contain_text(f"{handle}: ")
            for kind in wants:
                tess.mark([handle], kind)
            cli[handle].run("key", "rotate")
            page.clock.set_system_time(time.time())
            tess.screen("keys")
            record = Recorder(page)
            page.click(f"#changed-keys button:has-text('{handle}')")
            expect(page.locator("#status")).to_contain_text(f"You now trust {handle}'s new key")
            idle(page)
            posts = [e for e in record.entries if e[1] == "POST"]
            assert len(posts) == 1, shape(record.entries)
            body = json.loads(posts[0][4].split("/v1/marks", 1)[1])
            sent[handle] = (len(body.get("withdraw", [])), len(body["marks"]), posts[0][3], shape(record.entries)[:-1])
        tess.close()
        first = sent["yan"]
        assert first[:2] == (3, 3) and all(seen == first for seen in sent.values()), \
            "; ".join(f"{handle} ({len(kinds[handle])} marks): withdraw {w}, marks {m}, {size} bytes" for handle, (w, m, size, _) in sent.items())
    checks.run("a trust replaces three marks by three whether the member marked the person 0, 1, 2 or 3 times", trust_changes_three_marks)

    def look_up_sends_nothing():
        # A look-up answers from the key log the screen's poll verified: it sends nothing of its own.
        uma = paused_member(browser, server, invite, "uma")
        pause(uma)
        uma.page.clock.set_system_time(time.time())
        uma.screen("keys")
        record = Recorder(uma.page)
        uma.page.fill("#fingerprint-handle", "carol")
        uma.page.click("#fingerprint-form button")
        expect(uma.page.locator("#fingerprint-result")).to_contain_text(cli["carol"].run("key", "fingerprint").strip())
        idle(uma.page)
        time.sleep(1.0)
        uma.close()
        assert shape(record.entries) == [], shape(record.entries)
    checks.run("a fingerprint look-up on the Keys screen sends no request (the screen's poll verified the key log)", look_up_sends_nothing)


if __name__ == "__main__":
    sys.exit(main())
