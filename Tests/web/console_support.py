"""The organizer console in a browser, for the console tests: one Playwright context with /console open, signed in
or not, and what those tests read from it (the QR code's modules, the outcome, the stored state)."""

import json
import re
import urllib.request

from playwright.sync_api import expect

from support import ADMIN_CREDENTIAL, CLI, SHOTS, idle

# The console's screens, in the menu's order (organizers: the operator's only).
CONSOLE_SCREENS = ["programs", "invites", "members", "reports", "health", "audit", "organizers"]


def reported(server, bin_dir, reporter, reported_handle, reason, texts, program="acme"):
    """Two members on the real CLI match as peers; `reported_handle` sends `reporter` each of `texts`; `reporter`
    reports them with POST /v1/conversations/{token}/report, quoting the messages as their CLI decrypted them
    (the member's own report form is another screen's work). Returns the quoted messages."""
    invite = server.invite(uses=2, program=program)
    folder = server.folder
    accused = CLI(bin_dir, folder, server, home=f"cli-{reported_handle}").join(invite, reported_handle, program=program)
    accuser = CLI(bin_dir, folder, server, home=f"cli-{reporter}").join(invite, reporter, program=program)
    accused.run("interest", "add", reporter, "--as", "peer")
    accuser.run("interest", "add", reported_handle, "--as", "peer")
    for text in texts:
        accused.run("send", reporter, text)
    read = json.loads(accuser.run("read", reported_handle, "--json"))
    quoted = [{"seq": m["seq"], "fromMe": m["fromMe"], "text": m["payload"]["text"]} for m in read["messages"]]
    assert [m["text"] for m in quoted] == list(texts), read
    [state_file] = accuser.home.rglob("state.json")
    state = json.loads(state_file.read_text())
    [token] = [m["token"] for m in state["marks"] if m.get("handle") == reported_handle and m.get("matchedAt")]
    request = urllib.request.Request(
        f"{server.base}/v1/conversations/{token}/report", method="POST",
        data=json.dumps({"reason": reason, "messages": quoted}).encode(),
        headers={"Authorization": f"Bearer {state['credential']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204
    return quoted


class Console:
    """An organizer's browser tab with the console."""

    def __init__(self, browser, server, viewport=None):
        self.server = server
        self.context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.problems = []
        self.requests = []
        # Chromium logs each answer of HTTP 4xx as an error ("Failed to load resource"): the console's own
        # failures show on the page, where the tests look.
        self.page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}")
                     if m.type in ("error", "warning") and not m.text.startswith("Failed to load resource") else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r))
        self.page.goto(server.base + "/console")
        expect(self.page.locator("#screen-signin")).to_be_visible()

    def sign_in(self, credential=ADMIN_CREDENTIAL, expect_ok=True):
        self.page.fill("#signin-credential", credential)
        self.page.click("#signin-form button[type=submit]")
        if expect_ok:
            expect(self.page.locator("#status")).to_contain_text("Signed in")
            expect(self.page.locator("#screen-programs")).to_be_visible()
            idle(self.page)
        return self

    def screen(self, name):
        self.page.click(f"#nav button[data-screen={name}]")
        expect(self.page.locator(f"#screen-{name}")).to_be_visible()
        idle(self.page)
        assert not self.page.locator("#error").is_visible(), f"{name}: {self.page.inner_text('#error')}"

    def choose(self, program):
        self.page.select_option("#program-choice", program)
        expect(self.page.locator("#status")).to_contain_text(f"Now working on {program}")
        idle(self.page)

    def outcome(self, text):
        expect(self.page.locator("#status")).to_contain_text(text)
        idle(self.page)
        return self.page.inner_text("#status")

    def error(self):
        return self.page.inner_text("#error") if self.page.locator("#error").is_visible() else ""

    def create_program(self, name, quota=16, description="", conduct=""):
        self.screen("programs")
        self.page.fill("#new-program-name", name)
        self.page.fill("#new-program-quota", str(quota))
        self.page.fill("#new-program-description", description)
        self.page.fill("#new-program-conduct", conduct)
        self.page.click("#create-program-form button[type=submit]")
        return self.outcome(f"Created {name}")

    def make_invite(self, uses=5, expiry="7 days"):
        """Makes an invite on the Invites screen; returns the join link shown."""
        self.screen("invites")
        self.page.fill("#invite-uses", str(uses))
        self.page.select_option("#invite-expiry", label=expiry)
        self.page.click("#invite-form button[type=submit]")
        self.outcome("Made an invite link")
        return self.page.input_value("#invite-link")

    def qr_modules(self):
        """The QR code shown, as rows of 0 and 1 without the quiet zone, read back from its SVG path."""
        svg = self.page.locator("#invite-qr svg")
        side = int(svg.get_attribute("viewBox").split()[2])
        size = side - 8
        rows = [[0] * size for _ in range(size)]
        for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg.locator("path").get_attribute("d")):
            for dx in range(int(run)):
                rows[int(y) - 4][int(x) - 4 + dx] = 1
        return ["".join(map(str, row)) for row in rows]

    def storage(self):
        return self.page.evaluate("() => ({local: {...localStorage}, session: {...sessionStorage}, cookie: document.cookie})")

    def shot(self, name):
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()
