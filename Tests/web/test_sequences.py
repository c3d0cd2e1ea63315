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
The six changes are made in one world, in order (a module fixture with its own server, made by the first test
that needs it); every other test makes a world of its own, so any test runs alone:
`python3 -m pytest Tests/web/test_sequences.py -k https`. --web-folder serves that folder's web files instead
of the built-in ones (e.g. an older version of them, to show a check failing on it).
"""

import json
import re
import time
import types
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from support import CLI, INSECURE_HOST, SCREENS, Member, axe_check, idle, start_server

WINDOW_S = 3.0  # recorded after each POST
POLL_MS = 10_000  # screen-matches.js POLL_MS
DIRECTORY_SYNC_MS = 180_000  # screen-directory.js DIRECTORY_SYNC_MS
TOKEN_SEGMENT = re.compile(r"/[A-Za-z0-9_-]{43}(?=/|$)")
CLI_MEMBERS = ("bob", "carol", "dave", "erin", "yan", "zed")


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


def join_cli_members(bin_dir, server, invite):
    """bob, carol, dave, erin, yan and zed: CLI members, each with the tag swift."""
    cli = {}
    for handle in CLI_MEMBERS:
        cli[handle] = CLI(bin_dir, server.folder, server, home=f"cli-{handle}")
        cli[handle].join(invite, handle, "--display-name", handle.capitalize(), "--tag", "swift")
    return cli


def make_world(bin_dir, browser, server, invite, member):
    """The CLI members, and alice in a browser with the page's clock paused (no timer fires unless the test runs
    it), a pending mark on dave and erin's key pinned by a look-up: both get a trust after a rotation."""
    cli = join_cli_members(bin_dir, server, invite)
    alice = member("alice")
    # Playwright's clock in alice's page: it runs as usual while she joins, then stops, so that the poll timer
    # fires only when the test says.
    alice.context.clock.install()
    alice.join(invite, "Alice", "Learning Swift", ["swift"], seeks=True)
    record = Recorder(alice.page)
    page = alice.page
    alice.screen("directory")
    mark_on_directory(page, "dave", "mentor", "Dave, would you mentor me?")
    page.click("#mark-submit")
    expect(page.locator("#status")).to_contain_text("Marked privately: dave")
    alice.screen("keys")
    page.fill("#fingerprint-handle", "erin")
    page.click("#fingerprint-form button")
    expect(page.locator("#fingerprint-result")).to_contain_text("erin: ")
    idle(page)
    page.clock.pause_at(time.time() + 1)
    idle(page)
    return types.SimpleNamespace(server=server, cli=cli, alice=alice, page=page, record=record)


def mark_on_directory(page, handle, wants, note=""):
    page.check(f"[id='dir-{handle}']")
    page.check(f"#wants-{wants}")
    page.fill("#mark-note", note)


@pytest.fixture
def world(bin_dir, browser, server, invite, members):
    return make_world(bin_dir, browser, server, invite, members)


def run_change(world, rotator, screen, prepare, click):
    """One change in the common frame: the log grows, the screen opens, the change is prepared and clicked;
    returns the recorded requests (screen, prepare, action up to the POST, after it) and two timings."""
    alice, page, record = world.alice, world.page, world.record
    world.cli[rotator].run("key", "rotate")
    page.clock.set_system_time(time.time())  # the page's Date stays right while its timers stay stopped
    start = record.mark()
    alice.screen(screen)
    shown = record.mark()
    prepare(page)
    clicked = record.mark()
    click_time = time.monotonic()
    click(page)
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


def on_directory(handle, wants, note):
    return lambda page: mark_on_directory(page, handle, wants, note)


def submit(page):
    page.click("#mark-submit")


def nothing(page):
    pass


# The six changes, in the order they are made: (name, the CLI member who rotates first, the screen, prepare,
# click, what the page confirms).
CHANGES = [
    ("add bob", "yan", "directory", on_directory("bob", "mentor", "Hello Bob"), submit, "Marked privately: bob"),
    ("add carol", "zed", "directory", on_directory("carol", "peer", ""), submit, "Marked privately: carol"),
    ("a new note on bob", "yan", "directory", on_directory("bob", "mentor", "Hello again, Bob"), submit,
     "Marked privately: bob"),
    ("withdraw carol", "zed", "interests", nothing,
     lambda page: page.click("#interests-list button:has-text('Withdraw carol')"), "Withdrew your interest in carol"),
    ("trust dave (a pending mark on him)", "dave", "keys", nothing,
     lambda page: page.click("#changed-keys button:has-text('dave')"), "You now trust dave's new key"),
    ("trust erin (no mark on her)", "erin", "keys", nothing,
     lambda page: page.click("#changed-keys button:has-text('erin')"), "You now trust erin's new key"),
]


@pytest.fixture(scope="module")
def changed(bin_dir, web_folder, served_as_source, browser, tmp_path_factory):
    """One world in which alice makes the six changes in order: what each recorded, or how it failed."""
    server = start_server(bin_dir, tmp_path_factory.mktemp("sequences"), web_folder)
    made = []

    def member(handle):
        made.append(Member(browser, server, handle))
        return made[-1]

    world = make_world(bin_dir, browser, server, server.invite(50), member)
    world.changes, world.failures = {}, {}
    for name, rotator, screen, prepare, click, confirm in CHANGES:
        try:
            world.changes[name] = run_change(world, rotator, screen, prepare, click)
            expect(world.page.locator("#status")).to_contain_text(confirm)
        except Exception as error:  # noqa: BLE001 - the change's own test reports it; the next changes still run
            world.failures[name] = error
    yield world
    for m in made:
        m.close()
    server.stop()


def test_every_screen_opens_with_the_same_requests(world):
    seen = {}
    for name in SCREENS:
        start = world.record.mark()
        world.alice.screen(name)
        seen[name] = shape(world.record.entries[start:])
    poll = seen["profile"]
    assert poll and all(route.startswith("/v1/") for _, route, _ in poll), poll
    different = {name: s for name, s in seen.items() if s != poll}
    assert not different, f"profile opens with {poll}; but {different}"


@pytest.mark.parametrize("name", [change[0] for change in CHANGES])
def test_change(changed, name):
    if name in changed.failures:
        raise changed.failures[name]
    assert name in changed.changes


def test_every_change_sends_the_same_requests(changed):
    """Add, a new note, withdraw and trust: the same requests before the POST, the same POST size (every
    trust's alike), the same after it."""
    changes = changed.changes
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


def test_the_page_never_asks_the_servers_directory(changed):
    asked = [route for _, _, route, _, _ in changed.record.entries if route.startswith("/v1/directory")]
    assert not asked, asked
    assert len(changed.record.entries) > 20, "the changes were recorded"


def test_searching_the_directory_sends_no_request(world):
    alice, page, record = world.alice, world.page, world.record
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


def test_the_replica_syncs_on_its_timer_folds_as_the_server_and_survives_a_reload(world):
    alice, page, record = world.alice, world.page, world.record
    world.cli["bob"].run("profile", "set", "--headline", "Kites and gliders")
    world.cli["carol"].run("profile", "set", "--display-name", "Zoë Ünal")
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


def test_the_poll_timer_still_runs_on_its_own(world):
    page, record = world.page, world.record
    idle(page)
    page.clock.set_system_time(time.time())
    start = record.mark()
    page.clock.run_for(POLL_MS)
    time.sleep(1.5)
    idle(page)
    seen = shape(record.entries[start:])
    assert [route for _, route, _ in seen] == ["/v1/me", "/v1/log/head", "/v1/matches", "/v1/marks", "/v1/conversations"], seen


# What the attacker review found (2026-12-07): a lie in GET /v1/marks after a rotation, trusts that replaced as
# many marks as the member had on the person, and a fingerprint look-up with requests of its own.

@pytest.fixture
def cli_members(bin_dir, server, invite):
    return join_cli_members(bin_dir, server, invite)


@pytest.fixture
def paused_member(members, invite):
    """paused_member(handle): a member joined with the page's clock paused afterwards (as alice's): no timer
    fires unless run."""
    def make(handle):
        member = members(handle)
        member.context.clock.install()
        member.join(invite, handle.capitalize())
        return member
    return make


def pause(member):
    idle(member.page)
    member.page.clock.pause_at(time.time() + 1)
    idle(member.page)


def test_a_lie_after_a_rotation_makes_the_member_who_marked_send_what_others_send(cli_members, paused_member):
    # Two worlds: amy marked bob, ann marked carol. Bob rotates (public), then the server answers GET
    # /v1/marks as if it held nothing: both re-send everything, and nothing between the GET and the POST may
    # fail for the member whose mark is on bob.
    amy, ann = paused_member("amy"), paused_member("ann")
    amy.mark(["bob"], "mentor", "Hello Bob")
    ann.mark(["carol"], "mentor", "Hello Carol")
    for member in (amy, ann):
        pause(member)
    cli_members["bob"].run("key", "rotate")
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
    assert seen["amy"][0] == seen["ann"][0], f"amy (marked bob) {seen['amy']} but ann (marked carol) {seen['ann']}"
    # The poll's last step, the conversations' list, follows the marks' replacement.
    assert [e[:2] for e in seen["amy"][0][-2:]] == [("POST", "/v1/marks"), ("GET", "/v1/conversations")], seen
    assert not seen["amy"][1] and not seen["ann"][1], seen


def test_a_trust_replaces_three_marks_whatever_the_member_marked(cli_members, paused_member):
    # Tess trusts four people after their rotations: one she only looked up, one she marked once, one twice,
    # one three times (mentor, mentee, peer). Each trust replaces three marks by three.
    tess = paused_member("tess")
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
        cli_members[handle].run("key", "rotate")
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
    first = sent["yan"]
    assert first[:2] == (3, 3) and all(seen == first for seen in sent.values()), \
        "; ".join(f"{handle} ({len(kinds[handle])} marks): withdraw {w}, marks {m}, {size} bytes" for handle, (w, m, size, _) in sent.items())


def test_a_fingerprint_look_up_sends_no_request(cli_members, paused_member):
    # A look-up answers from the key log the screen's poll verified: it sends nothing of its own.
    uma = paused_member("uma")
    pause(uma)
    uma.page.clock.set_system_time(time.time())
    uma.screen("keys")
    record = Recorder(uma.page)
    uma.page.fill("#fingerprint-handle", "carol")
    uma.page.click("#fingerprint-form button")
    expect(uma.page.locator("#fingerprint-result")).to_contain_text(cli_members["carol"].run("key", "fingerprint").strip())
    idle(uma.page)
    time.sleep(1.0)
    assert shape(record.entries) == [], shape(record.entries)


def test_plain_http_off_localhost_says_the_page_needs_https(server, browser, invite):
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
    axe_check(page, "the https message")
    context.close()


def test_a_service_worker_is_unregistered_at_start_and_the_csp_refuses_one(server, browser):
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


def test_the_invite_code_leaves_the_address_bar_and_history_before_the_join_request(members, invite):
    gina = members("gina")
    at_join = []
    gina.page.on("request", lambda r: at_join.append(gina.page.url) if r.method == "POST" and r.url.endswith("/members") else None)
    gina.join(invite, "Gina")
    assert at_join and all(invite not in url and "#" not in url for url in at_join), at_join
    # The tab's history: back leads to the page before the link, never to the link with its code.
    gina.page.go_back()
    assert invite not in gina.page.url, gina.page.url
