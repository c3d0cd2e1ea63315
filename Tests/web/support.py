"""What the web tests and benchmarks share: where things are, a real `reciprocityd serve` on a loopback port, the
CLI as a member, a browser member (one Playwright context with the app open), and the checks several tests
make (axe-core, the stored keys, a request that stays on the server's origin). The pytest fixtures that put
these together are in conftest.py.
"""

import base64
import hashlib
import json
import os
import pathlib
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.request

from playwright.sync_api import expect

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The web app's source folder: the one place the tests name it.
WEB = ROOT / "Sources" / "ReciprocityWeb" / "web"
SHOTS = pathlib.Path(__file__).resolve().parent / "screenshots"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
# The screenshots --docs copies to docs/screenshots/.
SCREENS = ["profile", "about", "directory", "interests", "matches", "keys", "device"]
DOCS_SHOT_NAMES = ["join", "directory", "matches", "interests", "keys-changed", "mobile-interests-screen", "error-log",
                   "matches-warnings"] + [f"phone-{name}" for name in ["join", *SCREENS, "marked"]] + [f"wide-{name}" for name in SCREENS] \
    + ["phone-conversation", "wide-conversation"] \
    + [f"console-{width}-{name}" for width in ["wide", "phone"]
       for name in ["signin", "signin-error", "programs", "invites", "members", "reports", "health", "audit", "organizers"]]
# Words a member's screens must not show until asked (inside a disclosure, "Advanced", or an error's details).
JARGON = ["dummies", "padded", "tree head", "derivation", "key log", "token"]
MAX_MARKS = 8
# The operator's admin credential of the console tests' servers (at least 32 characters).
ADMIN_CREDENTIAL = "rcpa_console-test-operator-credential-0123456789"
# A name for the loopback address (the session's Chromium resolves it to 127.0.0.1): Chromium treats
# http://127.x.y.z as a secure context, so an insecure origin needs a name other than localhost.
INSECURE_HOST = "reciprocity.test"
expect.set_options(timeout=20_000)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(binary, *arguments, home=None, check=True, timeout=120):
    """One run of `binary`, with RECIPROCITY_HOME=`home` when given; with `check`, a failure raises."""
    env = {**os.environ, **({"RECIPROCITY_HOME": str(home)} if home is not None else {})}
    result = subprocess.run([str(binary), *arguments], capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{pathlib.Path(binary).name} {' '.join(map(str, arguments))}: {result.stderr.strip()}")
    return result


def snapshot_binaries(source, target):
    """Private copies of the executables: a build running beside the tests cannot swap them mid-run."""
    target = pathlib.Path(target)
    target.mkdir(parents=True)
    for name in ("reciprocityd", "reciprocity"):
        if not (pathlib.Path(source) / name).is_file():
            raise FileNotFoundError(f"missing: {source}/{name}: build it first (swift build)")
        for _ in range(10):
            shutil.copy2(pathlib.Path(source) / name, target / name)
            if subprocess.run([str(target / name), "--help"], capture_output=True).returncode == 0:
                break
            time.sleep(3)
        else:
            raise RuntimeError(f"cannot take a working copy of {source}/{name}")
    return target


class Server:
    """`reciprocityd serve` on 127.0.0.1:<free port> over `folder/server.sqlite`."""

    def __init__(self, bin_dir, folder, web_folder=None):
        self.web_folder = web_folder
        self.bin = pathlib.Path(bin_dir)
        self.folder = pathlib.Path(folder)
        self.database = str(self.folder / "server.sqlite")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def admin(self, *arguments):
        return run(self.bin / "reciprocityd", "admin", *arguments, "--database", self.database, timeout=60)

    def invite(self, uses=20, program="acme"):
        return self.admin("invite", "create", "--program", program, "--uses", str(uses)).stdout.strip()

    def start(self, *options):
        log = open(self.folder / "server.log", "ab")
        self.process = subprocess.Popen(
            [str(self.bin / "reciprocityd"), "serve", "--database", self.database, "--port", str(self.port),
             "--log-level", "error", "--rate-limit", "0", "--join-rate-limit", "0",
             *(["--web-folder", str(self.web_folder)] if self.web_folder else []), *options],
            stdout=log, stderr=log)
        log.close()
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

    def member_id(self, handle):
        return self.rows("SELECT id FROM member WHERE handle = ?", handle)[0][0]

    def tamper(self, sql, *arguments):
        db = sqlite3.connect(self.database, timeout=10)
        with db:
            db.execute(sql, arguments)
        db.close()


def start_server(bin_dir, folder, web_folder=None, max_marks=MAX_MARKS, admin_credential=None):
    """A started server over a fresh database with the program acme (at most `max_marks` marks per member); with
    `admin_credential`, its admin API on (the credential in a 0600 file, as an operator keeps it)."""
    server = Server(bin_dir, folder, web_folder)
    server.admin("program", "create", "acme", "--max-marks", str(max_marks))
    options = []
    if admin_credential:
        path = pathlib.Path(folder) / "admin-credential"
        path.touch(mode=0o600)
        path.write_text(admin_credential)
        options = ["--admin-credential-file", str(path)]
    server.start(*options)
    return server


def stale_assets(server):
    """Files of the source web folder that the server does not serve byte for byte."""
    with urllib.request.urlopen(server.base + "/web-manifest.json", timeout=5) as response:
        served = {entry["path"].removeprefix("/web/"): entry["sha256"] for entry in json.load(response)["assets"]}
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in WEB.iterdir() if p.is_file() and not p.name.startswith(".")}
    return sorted(name for name in files.keys() | served.keys() if files.get(name) != served.get(name))


class CLI:
    """The Swift CLI as a member, with its own RECIPROCITY_HOME."""

    def __init__(self, bin_dir, folder, server, home="cli-home"):
        self.bin, self.server = pathlib.Path(bin_dir), server
        self.home = pathlib.Path(folder) / home

    def run(self, *arguments):
        return run(self.bin / "reciprocity", *arguments, home=self.home).stdout

    def join(self, invite, handle, *options, program="acme"):
        self.run("join", "--server", self.server.base, "--program", program, "--invite", invite, "--handle", handle,
                 *options)
        return self


def idle(page):
    """Waits until the page runs no action (the app marks <body aria-busy> while it does)."""
    expect(page.locator("body[aria-busy]")).to_have_count(0)


class Member:
    """One browser context (its own IndexedDB) with the app open."""

    def __init__(self, browser, server, handle, viewport=None, touch=False, locale=None, timezone=None):
        self.server, self.handle = server, handle
        self.context = browser.new_context(viewport=viewport or {"width": 1100, "height": 900}, has_touch=touch,
                                           is_mobile=touch, locale=locale, timezone_id=timezone)
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
        return [h.removeprefix("@") for h in self.page.locator("#matches-list > li.card .handle").all_inner_texts()]

    def shot(self, name, full_page=True):
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)

    def close(self):
        self.context.close()


def state_marks(member):
    """The stored state and its real marks (those naming someone; dummies name no one)."""
    state = json.loads(member.state())
    return state, [m for m in state["marks"] if m.get("handle")]


def same_origin_requests(members, base):
    """How many requests the members' pages made; each must stay on `base` and none may ask the server's
    directory (members search their own replica of it)."""
    seen = 0
    for member in members:
        for request in member.requests:
            if request.url == "about:blank":
                continue
            seen += 1
            assert request.url.startswith((base + "/", "blob:" + base + "/")), f"{member.handle}: {request.url}"
            assert "/v1/directory" not in request.url, f"{member.handle} asked the server's directory: {request.url}"
    return seen


_axe = None


def axe_check(page, name, impacts=("serious", "critical")):
    """axe-core on the page as it is now: no violation of these impacts (serious or critical unless told)."""
    global _axe
    from axe_playwright_python.sync_playwright import Axe
    _axe = _axe or Axe()
    violations = [v for v in _axe.run(page).response["violations"] if v["impact"] in impacts]
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


def matched(alice, bob):
    """alice marks bob as her mentor and bob marks her back, each with a note; returns when alice's page has
    found the match."""
    alice.mark([bob.handle], "mentor", note="Hi Bob, could you help me with Swift on Linux? ✨")
    expect(alice.page.locator("#status")).to_contain_text(f"Marked privately: {bob.handle}")
    bob.mark([alice.handle], "mentee", note="Happy to, Alice.")
    expect(bob.page.locator("#status")).to_contain_text(f"Marked privately: {alice.handle}")
    alice.screen("matches")
    expect(alice.page.locator("#matches-list")).to_contain_text("Happy to, Alice.", timeout=30_000)


def cli_and_browser_matched(cli, members, invite):
    """dave (the CLI) and erin (a browser) match both ways: dave mentors erin (notes both ways), then as peers.
    Returns (dave, erin, dave's matches as `reciprocity matches --json` reports them) once erin's page shows both."""
    dave = cli().join(invite, "dave", "--display-name", "Dave CLI", "--tag", "rust", "--offers-mentoring")
    erin = members("erin").join(invite, "Erin Browser", "Wants to learn Rust", ["rust"], seeks=True)
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
    erin.screen("matches")
    expect(erin.page.locator("#matches-list > li.card")).to_have_count(2, timeout=30_000)
    return dave, erin, reports


def rotate(member):
    """The member replaces their key on the Security screen; returns (fingerprint before, fingerprint after)."""
    member.screen("keys")
    before = member.page.locator("#my-fingerprint").inner_text()
    member.page.click("#rotate-start")
    member.page.click("#rotate-go")
    expect(member.page.locator("#status")).to_contain_text("Your key was replaced")
    return before, member.page.locator("#my-fingerprint").inner_text()


def jargon_shown(page):
    """The words of JARGON the page shows as it is now (the text a member sees: a closed disclosure's is not)."""
    text = page.evaluate("() => document.body.innerText").lower()
    return [word for word in JARGON if word in text]


def outcome_in_view(page, text):
    """Waits for the status line to say `text`; returns what is wrong with where it is (None when it is focused
    and wholly inside the viewport)."""
    expect(page.locator("#status")).to_contain_text(text)
    idle(page)
    return page.evaluate("""() => {
        const status = document.getElementById("status"), box = status.getBoundingClientRect();
        if (document.activeElement !== status) return `the focus is on ${document.activeElement?.tagName} #${document.activeElement?.id}`;
        if (box.top < 0 || box.left < 0 || box.bottom > innerHeight || box.right > innerWidth || box.height === 0)
            return `the status line is at ${Math.round(box.top)}..${Math.round(box.bottom)} of a ${innerHeight}-pixel viewport`;
        return null;
    }""")
