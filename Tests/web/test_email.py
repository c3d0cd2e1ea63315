"""The optional address for email notices on the Profile screen (#27): the page says plainly, before anything is
typed, that the server's operator and its mail service can read it; a bad address gets the page's sentence and
code; a good one is stored (and only the member's own GET /v1/me shows it); an empty field removes it. All by
keyboard, and clean under axe."""

from playwright.sync_api import expect

from support import axe_check


def test_a_member_gives_changes_and_removes_an_address_by_keyboard(server, members, invite):
    amy = members("amy").join(invite, "Amy")
    page = amy.page
    amy.screen("profile")
    expect(page.locator("#email-help")).to_contain_text("its operator can read it")
    expect(page.locator("#email-address")).to_have_value("")
    axe_check(page, "profile screen with the email field")
    field = page.locator("#email-address")
    field.focus()
    field.fill("amy at example.test")
    page.keyboard.press("Enter")
    expect(page.locator("#error")).to_contain_text("That email address is not valid")
    expect(page.locator("#error")).to_contain_text("invalid-email")
    assert server.rows("SELECT email FROM member WHERE handle = 'amy'") == [(None,)]
    field.fill("amy@example.test")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("operator can read it")
    assert server.rows("SELECT email FROM member WHERE handle = 'amy'") == [("amy@example.test",)]
    # Drawn again from GET /v1/me after a reload.
    page.reload()
    amy.screen("profile")
    expect(page.locator("#email-address")).to_have_value("amy@example.test")
    field.fill("")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Email address removed")
    assert server.rows("SELECT email FROM member WHERE handle = 'amy'") == [(None,)]
    # No other member's page or directory carries an address.
    server.tamper("UPDATE member SET email = 'amy@example.test' WHERE handle = 'amy'")
    bob = members("bob").join(invite, "Bob")
    bob.screen("directory")
    assert "amy@example.test" not in bob.page.content()
    assert "amy@example.test" not in bob.page.evaluate("JSON.stringify(localStorage)")
