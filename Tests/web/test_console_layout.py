"""Accessibility and layout of the organizer console, every screen with something on it: axe-core (nothing
moderate or worse), keyboard only, and a 375-pixel phone (no sideways scroll; each action's outcome focused and in
view). The screenshots are saved (console-wide-*, console-phone-*; --docs copies them to docs/screenshots/)."""

import datetime

import pytest
from playwright.sync_api import expect

from console_support import CONSOLE_SCREENS, Console, reported
from support import ADMIN_CREDENTIAL, Member, axe_check, idle, outcome_in_view

PHONE = {"width": 375, "height": 812}
IMPACTS = ("moderate", "serious", "critical")


def populate(browser, server, console, bin_dir):
    """A program as an organizer finds it after a week: texts, an invite, two members (one suspended), tags, and
    a member's report of another with the messages they included."""
    console.create_program("chapter", description="Mentoring for the Lisbon chapter.", conduct="Be kind.")
    link = console.make_invite(uses=10)
    code = link.split("invite=")[1]
    for handle, tags, seeks in [("dana", ["swift", "rust"], True), ("finn", ["swift", "sql"], False)]:
        member = Member(browser, server, handle)
        member.join(code, handle.title(), "Here to learn", tags, seeks=seeks, offers=not seeks, program="chapter")
        member.close()
    console.screen("members")
    console.page.click("button[data-handle=finn]")
    console.page.fill("#status-reason", "On leave")
    console.page.click("#status-go")
    console.outcome("Suspended finn")
    reported(server, bin_dir, "erin", "dave", "He kept asking for my home address after I said no.",
             ["Where do you live? I could drop by.", "Why won't you tell me?" + " Answer me!" * 12], program="chapter")


@pytest.mark.parametrize("viewport, prefix", [({"width": 1280, "height": 900}, "console-wide"), (PHONE, "console-phone")])
def test_no_moderate_or_worse_axe_violation_on_any_console_screen(browser, console_server, bin_dir, viewport, prefix):
    console = Console(browser, console_server, viewport)
    axe_check(console.page, "sign in", IMPACTS)
    console.shot(f"{prefix}-signin")
    console.sign_in()
    populate(browser, console_server, console, bin_dir)
    for name in CONSOLE_SCREENS:
        if name == "invites":
            console.make_invite(uses=5)  # the new link and its QR code shown
        else:
            console.screen(name)
        if name == "members":
            console.page.click("button[data-handle=dana]")  # the suspend form open
        if name == "programs":
            console.page.fill("#round-at", "2099-12-31T10:30")
            console.page.click("#round-schedule")  # what a new round at that time does, said
        if name == "organizers":
            console.page.fill("#organizer-name", "lisbon-lead")
            console.page.click("#organizer-form button[type=submit]")
            console.outcome("Added organizer lisbon-lead for chapter")
        axe_check(console.page, f"console {name} at {viewport['width']} px", IMPACTS)
        width = console.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{name}: the page is {width} px wide at a {viewport['width']} px viewport"
        if console.page.locator("#status-close").is_visible():
            console.page.click("#status-close")  # the outcome line would sit across a full-page picture
        console.shot(f"{prefix}-{name}")
    console.page.click("#sign-out")
    console.sign_in("a-wrong-credential-of-at-least-32-characters", expect_ok=False)
    expect(console.page.locator("#error")).to_be_visible()
    axe_check(console.page, "sign in with an error", IMPACTS)
    console.shot(f"{prefix}-signin-error")
    assert not console.problems, console.problems
    console.close()


def test_every_console_screen_and_action_by_keyboard(browser, console_server):
    console = Console(browser, console_server)
    page = console.page
    page.focus("#signin-credential")
    page.keyboard.type(ADMIN_CREDENTIAL)
    page.keyboard.press("Enter")
    console.outcome("Signed in")
    page.focus("#main")
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => document.activeElement.dataset.screen || document.activeElement.id"))
    for name in CONSOLE_SCREENS:
        assert name in seen, (name, seen)
    # Each screen opened from the menu by Enter; the Invites screen's form filled and sent by keys alone.
    for name in CONSOLE_SCREENS:
        page.focus(f"#nav button[data-screen={name}]")
        page.keyboard.press("Enter")
        expect(page.locator(f"#screen-{name}")).to_be_visible()
        idle(page)
    page.focus("#nav button[data-screen=invites]")
    page.keyboard.press("Enter")
    idle(page)
    page.focus("#invite-uses")
    page.keyboard.press("Control+A")
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    expect(page.locator("#invite-expiry")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert outcome_in_view(page, "Made an invite link to acme for 4 people") is None
    # The Members screen: suspend by keyboard, the reason typed, Enter sends the form.
    Member(browser, console_server, "gale").join(page.input_value("#invite-link").split("invite=")[1], "Gale").close()
    page.focus("#nav button[data-screen=members]")
    page.keyboard.press("Enter")
    idle(page)
    page.focus("button[data-handle=gale]")
    page.keyboard.press("Enter")
    expect(page.locator("#status-reason")).to_be_focused()
    page.keyboard.type("Testing by keyboard")
    page.keyboard.press("Tab")
    expect(page.locator("#status-go")).to_be_focused()
    page.keyboard.press("Enter")
    assert outcome_in_view(page, "Suspended gale") is None
    # The Programs screen: a round scheduled by keyboard, its sentences first, then cancelled.
    page.focus("#nav button[data-screen=programs]")
    page.keyboard.press("Enter")
    idle(page)
    page.focus("#round-at")
    day = datetime.date.today() + datetime.timedelta(days=30)
    for key in [*day.strftime("%m%d%Y"), "Tab", *"1030A"]:  # month, day, year; Tab past the year's 6th digit
        page.keyboard.press(key)
    assert page.input_value("#round-at") == f"{day.isoformat()}T10:30"
    page.keyboard.press("Enter")  # sends the form, as in any field
    expect(page.locator("#round-go")).to_be_focused()
    page.keyboard.press("Enter")
    assert outcome_in_view(page, "acme moves to round 1 by itself") is None
    page.focus("#round-unschedule")
    page.keyboard.press("Enter")
    assert outcome_in_view(page, "acme has no scheduled round") is None
    console.close()


def test_each_outcome_is_focused_and_in_view_at_375_pixels(browser, console_server):
    console = Console(browser, console_server, PHONE)
    page = console.page
    console.sign_in()
    assert outcome_in_view(page, "Signed in") is None
    console.page.fill("#new-program-name", "phone-program")
    page.click("#create-program-form button[type=submit]")
    assert outcome_in_view(page, "Created phone-program") is None
    page.fill("#about-description", "Written on a phone")
    page.click("#about-form button[type=submit]")
    assert outcome_in_view(page, "Saved the description") is None
    ahead = datetime.datetime.now() + datetime.timedelta(days=7)
    page.fill("#round-at", ahead.strftime("%Y-%m-%dT%H:%M"))
    page.click("#round-schedule")
    go = page.locator("#round-go").bounding_box()
    assert go["x"] >= 0 and go["x"] + go["width"] <= 375, go
    page.click("#round-go")
    assert outcome_in_view(page, "phone-program moves to round 1 by itself") is None
    console.screen("invites")
    page.click("#invite-form button[type=submit]")
    assert outcome_in_view(page, "Made an invite link") is None
    qr = page.locator("#invite-qr svg").bounding_box()
    assert qr["width"] >= 200 and qr["x"] >= 0 and qr["x"] + qr["width"] <= 375, qr
    page.click("#invite-list button.danger")
    page.click("#revoke-go")
    assert outcome_in_view(page, "Revoked the invite") is None
    expect(page.locator("#invite-list")).to_contain_text("Revoked")
    Member(browser, console_server, "hana").join(console_server.invite(program="phone-program"), "Hana",
                                                   program="phone-program").close()
    console.screen("members")
    page.click("button[data-handle=hana]")
    page.click("#status-go")
    assert outcome_in_view(page, "Suspended hana") is None
    console.screen("audit")
    expect(page.locator("#audit-list")).to_contain_text("Revoked an invite")
    for name in CONSOLE_SCREENS:
        console.screen(name)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"{name}: the page is {width} px wide at 375 px"
    console.close()
