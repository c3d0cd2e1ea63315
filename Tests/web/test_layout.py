"""Accessibility and layout of the web app: axe-core on every screen (no serious or critical violation; the
screenshots are saved), every screen and control reachable by keyboard, and a 375-pixel viewport."""

from playwright.sync_api import expect

from support import SCREENS, axe_check, idle, matched


def test_no_serious_axe_violation_on_any_screen(server, members, invite, alice_and_bob, cli_member):
    alice, bob = alice_and_bob
    cli_member("carol", "Carol Danvers")
    matched(alice, bob)
    for name in SCREENS:
        alice.screen(name)
        assert not alice.error_text(), f"{name}: {alice.error_text()}"
        axe_check(alice.page, name)
        alice.shot(name)
    fresh = members("visitor")
    fresh.page.goto(server.base + "/")
    expect(fresh.page.locator("#screen-welcome")).to_be_visible()
    axe_check(fresh.page, "welcome")
    fresh.shot("welcome")
    fresh.page.goto(f"{server.base}/join#program=acme&invite={invite}")
    expect(fresh.page.locator("#screen-join")).to_be_visible()
    axe_check(fresh.page, "join")
    fresh.shot("join")
    # A screen with an error shown: a note over the limit.
    frank = members("frank").join(invite, "Frank")
    frank.select(["alice"])
    frank.submit_mark("mentor", note="é" * 256)
    expect(frank.page.locator("#error")).to_contain_text("at most 510 bytes")
    frank.screen("device")
    axe_check(frank.page, "device with an error")


def test_every_screen_and_control_reachable_by_keyboard(server, members, invite, cli_member):
    cli_member("carol", "Carol Danvers")
    alice = members("alice").join(invite, "Alice Liddell", "Learning Swift on servers", ["swift", "linux"], seeks=True)
    page = alice.page
    page.goto(server.base + "/")
    expect(page.locator("#screen-profile")).to_be_visible()
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("() => { const e = document.activeElement; return e.dataset.screen || e.id || e.textContent.trim(); }"))
    for screen in SCREENS:
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


def test_usable_at_a_375_pixel_viewport(members, invite, cli_member):
    cli_member("bob", "Bob Marley")
    ivy = members("ivy", viewport={"width": 375, "height": 812})
    ivy.join(invite, "Ivy Narrow", "On a phone", ["swift", "design"], seeks=True, offers=True)
    ivy.shot("mobile-profile")
    for name in SCREENS:
        ivy.screen(name)
        width = ivy.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, f"{name}: the page is {width} px wide at a 375 px viewport"
        axe_check(ivy.page, f"{name} at 375 px")
        ivy.shot(f"mobile-{name}")
    ivy.select(["bob"])
    ivy.submit_mark("mentor", note="From my phone")
    expect(ivy.page.locator("#status")).to_contain_text("Marked privately: bob")
    ivy.screen("interests")
    expect(ivy.page.locator("#interests-list")).to_contain_text("bob")
    ivy.shot("mobile-interests-screen", full_page=False)
