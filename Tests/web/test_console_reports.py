"""The console's Reports screen (#27) against a real reciprocityd and real Chromium: members on the real CLI match
and converse, one reports the other through the server's API with the messages they chose to include, and the
organizer reads the report (every text as plain text, nothing of it as markup) and suspends the reported member
from it. Also: an organizer sees their own programs' reports only; the screen passes axe, works by keyboard
alone and wraps a long text at 375 pixels."""

from playwright.sync_api import expect

from console_support import Console, reported
from support import axe_check, idle, outcome_in_view

PHONE = {"width": 375, "height": 812}
HOSTILE = '<img src=x onerror="window.pwned=1">Meet me <b>alone</b> &amp; tell no one'
LONG = "https://example.test/" + "a" * 400


def test_an_organizer_reads_a_report_with_its_messages_and_suspends_from_it(browser, console_server, bin_dir):
    console_server.admin("program", "create", "other")
    credential = console_server.admin("organizer", "create", "lead", "--program", "acme").stdout.strip()
    console = Console(browser, console_server).sign_in(credential)
    page = console.page
    console.screen("reports")
    expect(page.locator("#reports-empty")).to_have_text("No member has reported anyone in this program.")
    expect(page.locator("#report-list")).to_be_hidden()

    texts = [HOSTILE, LONG, "line one\nline two"]
    reported(console_server, bin_dir, "erin", "dave", "He kept asking for my address.\nTwice.", texts)
    reported(console_server, bin_dir, "zoe", "mal", "Spam in another program.", ["buy now"], program="other")
    console.screen("reports")
    report = page.locator("#report-list > li")
    expect(report).to_have_count(1)
    expect(report.locator("h2")).to_have_text("erin reported dave")
    expect(report.locator("h3").nth(1)).to_have_text("Messages erin included (3)")
    assert report.locator(".report-text").first.inner_text() == "He kept asking for my address.\nTwice."
    assert report.locator(".report-messages .report-text").all_inner_texts() == texts
    assert report.locator(".report-author").all_inner_texts() == ["dave · message 1", "dave · message 2",
                                                                   "dave · message 3"]
    # The member's text is text: no element came of it, no script ran.
    expect(page.locator("#report-list img, #report-list b")).to_have_count(0)
    assert page.evaluate("() => window.pwned") is None
    # The other program's report is not this organizer's to see.
    assert "Spam" not in page.inner_text("main") and "mal" not in page.inner_text("#report-list")

    # Suspending from the report: the Members screen's form, about dave, with the reason to give.
    page.click("[data-report-suspend=dave]")
    expect(page.locator("#screen-members")).to_be_visible()
    expect(page.locator("#status-form-title")).to_have_text("Suspend dave")
    expect(page.locator("#status-reason")).to_be_focused()
    page.keyboard.type("Reported by erin: asked for her address")
    page.click("#status-go")
    console.outcome("Suspended dave, with your reason in the audit log")
    assert console_server.rows("SELECT status FROM member WHERE handle = 'dave'") == [("suspended",)]
    console.screen("reports")
    expect(page.locator("#report-list")).to_contain_text("dave is suspended.")
    expect(page.locator("[data-report-suspend]")).to_have_count(0)
    console.screen("audit")
    expect(page.locator("#audit-list tr").first).to_contain_text("Suspended a member: dave")
    assert not console.problems, console.problems
    console.close()


def test_the_reports_screen_passes_axe_and_works_by_keyboard_at_375_pixels(browser, console_server, bin_dir):
    reported(console_server, bin_dir, "erin", "dave", LONG, [LONG, "ok"])
    console = Console(browser, console_server, PHONE)
    page = console.page
    console.sign_in()
    page.focus("#nav button[data-screen=reports]")
    page.keyboard.press("Enter")
    expect(page.locator("#screen-reports")).to_be_visible()
    idle(page)
    axe_check(page, "reports at 375 px", ("moderate", "serious", "critical"))
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the Reports screen is {width} px wide at 375 px"
    for text in page.locator("#report-list .report-text").all():
        box = text.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
    # By keyboard alone: Tab to the report's Suspend button, Enter opens the form, the reason typed, sent.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.dataset.reportSuspend") == "dave":
            break
    expect(page.locator("[data-report-suspend=dave]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#status-reason")).to_be_focused()
    page.keyboard.type("By keyboard")
    page.keyboard.press("Tab")
    expect(page.locator("#status-go")).to_be_focused()
    page.keyboard.press("Enter")
    assert outcome_in_view(page, "Suspended dave") is None
    assert not console.problems, console.problems
    console.close()
