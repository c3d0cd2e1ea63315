"""The organizer console (/console) against a real reciprocityd and real Chromium: an organizer's first session
(#27's Done-when, as far as the server's routes go), a wrong credential, the credential kept out of storage and
addresses, and the QR code of a real invite link, module for module the reference encoder's."""

import datetime
import sys

import pytest
from playwright.sync_api import expect

from console_support import Console
from support import ADMIN_CREDENTIAL as ADMIN, ROOT, Member, same_origin_requests

sys.path.insert(0, str(ROOT / "scripts"))
from qr_vectors import reference  # noqa: E402  (segno, with the standard's padding)


@pytest.fixture
def organizer(browser, console_server):
    """The operator's console in a 1280-pixel tab, signed in; its requests must all stay on the server's origin."""
    console = Console(browser, console_server).sign_in()
    yield console
    problems = console.problems
    console.close()
    assert not problems, problems
    same_origin_requests([console], console_server.base)


def reference_rows(text):
    """The reference encoder's symbol for `text` as rows of 0 and 1."""
    symbol = reference(text)
    return [format(int(row, 16), "b").zfill(len(row) * 4)[:symbol["size"]] for row in symbol["matrix"]]


def test_an_organizers_first_session(browser, console_server, organizer):
    page = organizer.page
    # A program with a description and code of conduct.
    said = organizer.create_program("chapter", quota=12, description="Mentoring for the Lisbon chapter.",
                                    conduct="Be kind. Meet in public places.")
    assert "12 marks per member per round" in said
    expect(page.locator("#program-choice")).to_have_value("chapter")
    expect(page.locator("#programs-list")).to_contain_text("chapter")
    expect(page.locator("#about-description")).to_have_value("Mentoring for the Lisbon chapter.")
    # An invite link and its QR code: the QR code is the reference encoder's for exactly that link.
    link = organizer.make_invite(uses=3, expiry="30 days")
    assert link.startswith(f"{console_server.base}/join#program=chapter&invite=rcpi_"), link
    assert organizer.qr_modules() == reference_rows(link)
    expect(page.locator("#status")).to_contain_text("for 3 people; it stops working in 30 days")
    # A member joins with it on the members' page, and says what they seek.
    member = Member(browser, console_server, "dana")
    member.join(link.split("invite=")[1], "Dana Scully", "Learning to mentor", ["swift", "rust"], seeks=True,
                program="chapter")
    member.close()
    # The Health screen shows the join, the complete profile and the tags.
    organizer.screen("health")
    expect(page.locator("[data-fact='Active members']")).to_have_text("1")
    expect(page.locator("[data-fact='Complete profiles']")).to_have_text("1 of 1 active members")
    expect(page.locator("[data-fact='Looking for a mentor']")).to_have_text("1")
    charts = page.locator("#health-charts")
    expect(charts).to_contain_text("swift")
    expect(charts).to_contain_text("rust")
    expect(charts.locator("svg[role=img]").first).to_be_visible()
    assert "More members look for a mentor than offer mentoring in rust, swift" in \
        charts.locator("svg[aria-label*='look for a mentor']").get_attribute("aria-label")
    # The CSV download is the server's file.
    with page.expect_download() as download:
        page.click("#health-csv")
    path = download.value.path()
    assert download.value.suggested_filename == "chapter-health.csv"
    assert "joins," in open(path, encoding="utf-8").read()
    # Suspend and reinstate, with a reason.
    organizer.screen("members")
    page.fill("#member-filter", "da")
    expect(page.locator("#member-count")).to_have_text("1 of 1 members match “da”.")
    page.click("button[data-handle=dana]")
    expect(page.locator("#status-reason")).to_be_focused()
    page.fill("#status-reason", "Asked to pause")
    page.click("#status-go")
    organizer.outcome("Suspended dana")
    expect(page.locator("#member-list")).to_contain_text("Suspended")
    page.click("button[data-handle=dana]")
    page.fill("#status-reason", "Back from the pause")
    page.click("#status-go")
    organizer.outcome("Reinstated dana")
    expect(page.locator("#member-list")).to_contain_text("Active")
    assert console_server.rows("SELECT status FROM member WHERE handle = 'dana'") == [("active",)]


def test_each_action_is_in_the_audit_log(browser, console_server, organizer):
    page = organizer.page
    organizer.create_program("chapter", description="About the chapter")
    organizer.make_invite(uses=2)
    member = Member(browser, console_server, "erin")
    member.join(page.input_value("#invite-link").split("invite=")[1], "Erin", program="chapter")
    member.close()
    organizer.screen("members")
    page.click("button[data-handle=erin]")
    page.fill("#status-reason", "Spam")
    page.click("#status-go")
    organizer.outcome("Suspended erin")
    page.click("button[data-handle=erin]")
    page.click("#status-go")
    organizer.outcome("Reinstated erin")
    organizer.screen("audit")
    actions = page.locator("#audit-list tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions[:5] == ["member-reinstated", "member-suspended", "invite-created", "program-described",
                           "program-created"], actions
    expect(page.locator("#audit-list")).to_contain_text("Spam")


def test_a_wrong_credential_gets_a_plain_message_and_nothing_else(browser, console_server):
    console = Console(browser, console_server)
    console.sign_in("not-the-credential-of-this-server-at-all-0123", expect_ok=False)
    expect(console.page.locator("#error")).to_contain_text("That credential is not accepted here")
    expect(console.page.locator("#error")).to_be_focused()
    expect(console.page.locator("#nav")).to_be_hidden()
    expect(console.page.locator("#screen-signin")).to_be_visible()
    console.page.fill("#signin-credential", "")
    console.page.click("#signin-form button[type=submit]")
    expect(console.page.locator("#error")).to_contain_text("Type your credential first")
    console.close()


def test_the_credential_stays_in_the_tabs_memory(browser, console_server, organizer):
    page = organizer.page
    stored = organizer.storage()
    assert stored == {"local": {}, "session": {}, "cookie": ""}, stored
    assert ADMIN not in page.url and page.input_value("#signin-credential") == ""
    for request in organizer.requests:
        assert ADMIN not in request.url, request.url
    # A reload signs out; so does Sign out.
    page.reload()
    expect(page.locator("#screen-signin")).to_be_visible()
    expect(page.locator("#nav")).to_be_hidden()
    organizer.sign_in()
    page.click("#sign-out")
    organizer.outcome("Signed out")
    expect(page.locator("#screen-signin")).to_be_visible()


def test_a_new_round_says_what_it_does_before_it_does_it(organizer, console_server):
    page = organizer.page
    organizer.screen("programs")
    expect(page.locator("#round-now")).to_have_text("0")
    page.click("#round-start")
    expect(page.locator("#round-go")).to_be_focused()
    expect(page.locator("#round-confirm")).to_contain_text("Every pending mark in this program is deleted")
    assert console_server.rows("SELECT epoch FROM program WHERE name = 'acme'") == [(0,)]
    page.click("#round-cancel")
    expect(page.locator("#round-start")).to_be_focused()
    page.click("#round-start")
    page.click("#round-go")
    organizer.outcome("acme is in round 1 now")
    expect(page.locator("#round-now")).to_have_text("1")
    assert console_server.rows("SELECT epoch FROM program WHERE name = 'acme'") == [(1,)]


def test_a_round_at_a_time_says_what_it_does_first_and_can_be_cancelled(organizer, console_server):
    page = organizer.page
    organizer.screen("programs")
    expect(page.locator("#round-scheduled")).to_be_hidden()
    # A time that has passed is refused on the page, before any request.
    page.fill("#round-at", "2001-01-31T10:00")
    page.click("#round-schedule")
    expect(page.locator("#error")).to_contain_text("That time has passed")
    expect(page.locator("#round-confirm")).to_be_hidden()
    # A time ahead: the new round's sentences come first, said for that time.
    ahead = (datetime.datetime.now() + datetime.timedelta(days=2)).replace(second=0, microsecond=0)
    page.fill("#round-at", ahead.strftime("%Y-%m-%dT%H:%M"))
    page.click("#round-schedule")
    expect(page.locator("#round-go")).to_be_focused()
    expect(page.locator("#round-confirm")).to_contain_text("Every pending mark in this program is deleted")
    expect(page.locator("#round-when")).to_contain_text("at ")
    assert console_server.rows("SELECT next_round_at FROM program WHERE name = 'acme'") == [(None,)]
    page.click("#round-go")
    organizer.outcome("acme moves to round 1 by itself at")
    expect(page.locator("#round-scheduled")).to_be_visible()
    # The browser's time zone is the page's: the server holds that instant, and the round is still 0.
    assert console_server.rows("SELECT epoch, next_round_at, next_round_by FROM program WHERE name = 'acme'") == [
        (0, int(ahead.timestamp()) * 1000, "operator")]
    page.click("#round-unschedule")
    organizer.outcome("acme has no scheduled round; it stays in round 0")
    expect(page.locator("#round-scheduled")).to_be_hidden()
    assert console_server.rows("SELECT epoch, next_round_at FROM program WHERE name = 'acme'") == [(0, None)]
    organizer.screen("audit")
    expect(page.locator("#audit-list")).to_contain_text("Cancelled a scheduled round")
    expect(page.locator("#audit-list")).to_contain_text("Scheduled a new round")


def test_an_organizer_signs_in_to_their_programs_only(browser, console_server):
    console_server.admin("program", "create", "chapter")
    credential = console_server.admin("organizer", "create", "lead", "--program", "chapter").stdout.strip()
    console = Console(browser, console_server).sign_in(credential)
    page = console.page
    expect(page.locator("#status")).to_have_text("Signed in as organizer lead.")
    assert page.locator("#program-choice option").all_inner_texts() == ["chapter"]
    expect(page.locator("#programs-list tr")).to_have_count(1)
    expect(page.locator("#create-program")).to_be_hidden()
    expect(page.locator("#nav-organizers")).to_be_hidden()
    console.make_invite(uses=2)
    console.page.click("#invite-list button.danger")
    console.page.click("#revoke-go")
    console.outcome("Revoked the invite")
    console.screen("audit")
    rows = page.locator("#audit-list tr")
    expect(rows.first).to_contain_text("Organizer lead")
    expect(rows.first).to_contain_text("Revoked an invite")
    assert not console.problems, console.problems
    console.close()


def test_marks_per_member_change_and_a_bad_number_is_one_sentence(organizer, console_server):
    page = organizer.page
    organizer.screen("programs")
    expect(page.locator("#quota")).to_have_value("8")
    page.fill("#quota", "0")
    page.click("#quota-form button[type=submit]")
    expect(page.locator("#error")).to_contain_text("Marks per member per round must be a whole number from 1 to 10000.")
    page.fill("#quota", "20")
    page.click("#quota-form button[type=submit]")
    organizer.outcome("Each member of acme may now mark 20 people per round.")
    assert console_server.rows("SELECT max_marks FROM program WHERE name = 'acme'") == [(20,)]
    organizer.screen("audit")
    expect(page.locator("#audit-list tr").first).to_contain_text("Changed the marks per member")


def test_the_operator_adds_an_organizer_who_signs_in_and_is_removed(browser, console_server, organizer):
    page = organizer.page
    organizer.create_program("chapter")
    organizer.screen("organizers")
    page.fill("#organizer-name", "lead")
    page.uncheck("#organizer-programs input[value=chapter]")
    page.click("#organizer-form button[type=submit]")
    expect(page.locator("#error")).to_contain_text("Choose at least one program they may run.")
    page.check("#organizer-programs input[value=chapter]")
    page.click("#organizer-form button[type=submit]")
    organizer.outcome("Added organizer lead for chapter")
    credential = page.input_value("#organizer-credential")
    expect(page.locator("#organizer-list")).to_contain_text("lead")
    lead = Console(browser, console_server).sign_in(credential)
    assert lead.page.locator("#program-choice option").all_inner_texts() == ["chapter"]
    # Removed: their credential stops working at their next request.
    page.click("button[data-organizer=lead]")
    page.click("#dismiss-go")
    organizer.outcome("Removed organizer lead")
    lead.page.click("#nav button[data-screen=members]")
    expect(lead.page.locator("#error")).to_contain_text("That credential is not accepted here")
    lead.close()
    organizer.screen("audit")
    expect(page.locator("#audit-list")).to_contain_text("Gave an organizer this program")


def test_an_invite_for_no_one_is_refused_with_a_sentence(organizer):
    organizer.screen("invites")
    organizer.page.fill("#invite-uses", "0")
    organizer.page.click("#invite-form button[type=submit]")
    expect(organizer.page.locator("#error")).to_contain_text(
        "The number of people must be a whole number from 1 to 1000000.")
    expect(organizer.page.locator("#invite-made")).to_be_hidden()
