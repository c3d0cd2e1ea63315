"""A first-time member on a phone (issue #25): the whole first session at 375 x 740 with touch, joining from the
link, editing the profile, finding people, marking two with a note, a match, withdrawing one and backing up.
After each action the outcome must be focused and inside the viewport, the screens must say nothing in the
protocol's words until asked (JARGON, in a disclosure), the page must offer a backup until one exists, and every
screen is photographed at 375 and 1280 pixels (--docs copies them to docs/screenshots/)."""

from playwright.sync_api import expect

from support import SCREENS, axe_check, idle, jargon_shown, outcome_in_view

PHONE = {"width": 375, "height": 740}
PASSPHRASE = "correct horse battery staple on a phone"


def check_screen(member, name):
    """Plain words, no sideways scroll and axe (no moderate violation either) on the screen shown now."""
    page = member.page
    assert not jargon_shown(page), f"{name} shows {jargon_shown(page)}"
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name}: the page is {width} px wide"
    axe_check(page, name, impacts=("moderate", "serious", "critical"))


def test_a_first_session_on_a_phone(server, members, invite, cli):
    bob = cli("cli-bob").join(invite, "bob", "--display-name", "Bob Builder", "--tag", "swift", "--offers-mentoring")
    cli("cli-carol").join(invite, "carol", "--display-name", "Carol Danvers", "--tag", "swift")
    ivy = members("ivy", viewport=PHONE, touch=True)
    page = ivy.page

    # The join link: the screen says what it means in plain words.
    page.goto(f"{server.base}/join#program=acme&invite={invite}")
    expect(page.locator("#join-form")).to_be_visible()
    check_screen(ivy, "join")
    ivy.shot("phone-join")
    ivy.join(invite, "Ivy Narrow", "", ["swift"], seeks=True)
    assert not outcome_in_view(page, "Welcome"), outcome_in_view(page, "Welcome")
    # Until a backup exists, every screen but This device offers one and says why.
    expect(page.locator("#backup-nudge")).to_be_visible()
    expect(page.locator("#backup-nudge")).to_contain_text("only in this browser")

    # Edit the profile.
    page.fill("#profile-headline", "Learning Swift, on my phone")
    page.tap("#profile-form button[type=submit]")
    assert not outcome_in_view(page, "Profile saved"), outcome_in_view(page, "Profile saved")

    # Find someone: bob is both a suggestion and in the list; the two boxes say which is which.
    ivy.screen("directory")
    expect(page.locator("#directory-count")).to_contain_text("3 members")
    expect(page.get_by_label("Select Bob Builder (suggested)", exact=True)).to_have_count(1)
    expect(page.get_by_label("Select Bob Builder", exact=True)).to_have_count(1)
    page.tap("label[for='dir-bob']")
    bar = page.locator("#selection-bar")
    expect(bar).to_be_in_viewport()
    expect(bar).to_contain_text("1 selected: bob")
    page.fill("#search-q", "carol")
    page.tap("#search-form button")
    page.tap("label[for='dir-carol']")
    expect(bar).to_contain_text("2 selected: bob, carol")
    expect(bar).to_be_in_viewport()
    # The bar opens the mark panel, which says what a note is for.
    page.tap("#selection-go")
    expect(page.locator("#mark-form")).to_be_focused()
    expect(page.locator("#mark-title")).to_be_in_viewport()
    expect(page.locator("#note-help")).to_contain_text("how to reach you")
    expect(page.locator("label[for='mark-note']")).to_contain_text("the first thing they read")
    page.tap("label[for='wants-mentor']")
    page.fill("#mark-note", "Hi! I'm Ivy, learning Swift. Reach me at ivy@example.org.")
    page.tap("#mark-submit")
    assert not outcome_in_view(page, "Marked privately: bob, carol"), outcome_in_view(page, "Marked privately: bob, carol")
    expect(bar).to_be_hidden()
    ivy.shot("phone-marked", full_page=False)
    # The card changes at once: marked, and what marking again does.
    card = page.locator("#directory-list li.card", has_text="@carol")
    expect(card).to_contain_text("You marked them as your mentor (pending")
    expect(page.get_by_label("Select Carol Danvers to mark again (the same kind of mark replaces your note)",
                             exact=True)).to_have_count(1)
    check_screen(ivy, "directory after a mark")
    ivy.shot("phone-directory")

    # bob marks back: a match, shown by handle and display name, with a readable time; the button reads "Matches (1)".
    bob.run("interest", "add", "ivy", "--as", "mentee", "--note", "Happy to help, Ivy.")
    ivy.screen("matches")
    expect(page.locator("#matches-list > li.card")).to_have_count(1, timeout=30_000)
    match = page.locator("#matches-list > li.card")
    # The verified handle leads; the display name (which anyone may copy) comes second, said as theirs.
    expect(match.locator("h2")).to_have_text("@bob")
    expect(match.locator(".display-name")).to_have_text("Their display name: Bob Builder")
    expect(match).to_contain_text("@bob")
    expect(match.locator("time")).to_have_text("just now")

    expect(page.get_by_role("button", name="Matches (1)", exact=True)).to_have_count(1)

    # Withdraw one.
    ivy.screen("interests")
    page.tap("text=Withdraw carol")
    assert not outcome_in_view(page, "Withdrew your interest in carol"), outcome_in_view(page, "Withdrew your interest in carol")
    # The line can be closed: it covers nothing after that.
    page.tap("#status-close")
    expect(page.locator("#dock .outcome")).to_be_hidden()
    expect(page.locator("#main")).to_be_focused()

    for name in SCREENS:
        ivy.screen(name)
        check_screen(ivy, name)
        ivy.shot(f"phone-{name}")
    # The details are there for those who open them.
    ivy.screen("keys")
    page.tap("#keys-advanced summary")
    expect(page.locator("#my-tree-head")).to_be_visible()
    ivy.screen("interests")
    page.tap("#screen-interests details summary")
    expect(page.locator("#screen-interests details")).to_contain_text("dummy marks")

    # Back up, from the reminder: a form a password manager can store (a username field, new passwords).
    ivy.screen("profile")
    page.tap("#backup-nudge-go")
    expect(page.locator("#screen-device")).to_be_visible()
    expect(page.locator("#export-pass")).to_be_focused()
    expect(page.locator("#backup-nudge")).to_be_hidden()
    expect(page.locator("#export-account")).to_have_value("ivy (acme)")
    assert page.get_attribute("#export-account", "autocomplete") == "username"
    assert page.get_attribute("#export-pass", "autocomplete") == "new-password"
    page.fill("#export-pass", PASSPHRASE)
    page.fill("#export-pass2", PASSPHRASE)
    with page.expect_download():
        page.tap("#export-form button[type=submit]")
    assert not outcome_in_view(page, "backup was downloaded"), outcome_in_view(page, "backup was downloaded")
    ivy.screen("profile")
    expect(page.locator("#backup-nudge")).to_be_hidden()
    page.reload()
    expect(page.locator("#screen-profile")).to_be_visible()
    idle(page)
    expect(page.locator("#backup-nudge")).to_be_hidden()

    # The same screens on a wide screen, for the docs.
    page.set_viewport_size({"width": 1280, "height": 800})
    for name in SCREENS:
        ivy.screen(name)
        ivy.shot(f"wide-{name}")


def test_a_replaced_key_needs_a_new_backup(members, invite):
    """The reminder follows the key: a backup holds the key it was made with, so replacing the key brings the
    reminder back."""
    kim = members("kim").join(invite, "Kim")
    kim.screen("device")
    kim.page.fill("#export-pass", PASSPHRASE)
    kim.page.fill("#export-pass2", PASSPHRASE)
    with kim.page.expect_download():
        kim.page.click("#export-form button[type=submit]")
    expect(kim.page.locator("#backup-state")).to_contain_text("A backup of your current key was made")
    kim.screen("keys")
    expect(kim.page.locator("#backup-nudge")).to_be_hidden()
    kim.page.click("#rotate-start")
    kim.page.click("#rotate-go")
    expect(kim.page.locator("#status")).to_contain_text("Your key was replaced")
    kim.screen("profile")
    expect(kim.page.locator("#backup-nudge")).to_be_visible()
    # "Forget this device" leaves nothing of the membership in the browser: the backup record goes too.
    assert kim.page.evaluate("() => localStorage.getItem('reciprocity-backup')") is not None
    kim.screen("device")
    kim.page.click("#forget-start")
    kim.page.click("#forget-go")
    expect(kim.page.locator("#screen-welcome")).to_be_visible()
    assert kim.page.evaluate("() => localStorage.length") == 0
    assert kim.page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)") == []
