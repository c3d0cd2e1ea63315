"""The organizer console in a browser, for the console tests: one Playwright context with /console open, signed in
or not, and what those tests read from it (the QR code's modules, the outcome, the stored state)."""

import re

from playwright.sync_api import expect

from support import ADMIN_CREDENTIAL, SHOTS, idle

# The console's screens, in the menu's order (organizers: the operator's only).
CONSOLE_SCREENS = ["programs", "invites", "members", "health", "audit", "organizers"]


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
