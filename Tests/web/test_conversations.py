#!/usr/bin/env python3
"""Conversations after a match (issue #26, Specs/messages.md), for real: a `reciprocityd serve` on loopback over a
fresh SQLite file, one member with the real CLI and one in Debian's headless Chromium driven by Playwright.

They match, write both ways (the page notices the CLI's messages without a reload, through GET /v1/events), share
contact details, agree a meeting and get the same .ics bytes, and one ends the conversation while the other sees
it ended; then each reports the other, and the operator's list (CLI and admin API) holds the browser member's
report with the messages in clear, exactly as her page shows them. Also: the conversation screen passes axe, works by keyboard alone and at 375 pixels, and what the page
sends after an action in a conversation does not depend on what the other member did.
"""

import json
import os
import pathlib
import re
import subprocess
import time
import unicodedata
import urllib.request

import pytest
from playwright.sync_api import expect

from support import ADMIN_CREDENTIAL, axe_check, idle, outcome_in_view
from test_sequences import Recorder, shape

MESSAGES = "#conversation-messages"


def converse_world(cli, members, invite, viewport=None, clock=False):
    """dave (the CLI) mentors erin (a browser): a verified match both ways; erin's page on the Matches screen.
    With `clock`, erin's page runs on Playwright's clock (the test can pause it)."""
    dave = cli().join(invite, "dave", "--display-name", "Dave CLI", "--offers-mentoring")
    erin = members("erin", viewport=viewport)
    if clock:
        erin.context.clock.install()
    erin.join(invite, "Erin Browser", seeks=True)
    dave.run("interest", "add", "erin", "--as", "mentee")
    erin.mark(["dave"], "mentor")
    erin.screen("matches")
    expect(erin.page.locator("[data-write=dave]")).to_be_visible(timeout=30_000)
    return dave, erin


def open_conversation(erin):
    erin.screen("matches")
    erin.page.click("[data-write=dave]")
    expect(erin.page.locator("#screen-conversation")).to_be_visible()
    idle(erin.page)


def ics(cli, *arguments):
    """The bytes a `reciprocity meet` command prints (text mode would turn its CRLF into LF)."""
    result = subprocess.run([str(cli.bin / "reciprocity"), "meet", *arguments], capture_output=True, timeout=60,
                            env={**os.environ, "RECIPROCITY_HOME": str(cli.home)})
    assert result.returncode == 0, result.stderr
    return result.stdout


def read(dave):
    return json.loads(dave.run("read", "erin", "--json"))


def stored_messages(erin):
    """The messages erin's page keeps of her one conversation (IndexedDB key `conversations`)."""
    return erin.page.evaluate("""async () => {
        const db = await new Promise((ok, no) => { const r = indexedDB.open("reciprocity", 1);
            r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
        const all = await new Promise((ok) => { const r = db.transaction("kv").objectStore("kv").get("conversations"); r.onsuccess = () => ok(r.result); });
        db.close();
        return Object.values(all)[0].messages;
    }""")


def reports(server):
    """The operator's list, as `reciprocityd admin report list --json` prints it."""
    return json.loads(server.admin("report", "list", "acme", "--json").stdout)["reports"]


def test_a_cli_member_and_a_browser_member_converse_meet_and_end(cli, members, invite, server):
    dave, erin = converse_world(cli, members, invite)
    page = erin.page
    # erin writes first; dave reads it.
    open_conversation(erin)
    expect(page.locator("#conversation-title")).to_have_text("Conversation with @dave")
    page.fill("#compose-text", "Hello Dave, could we talk about Rust?")
    page.click("#compose-form button[type=submit]")
    expect(page.locator(MESSAGES)).to_contain_text("Hello Dave, could we talk about Rust?")
    assert [m["payload"]["text"] for m in read(dave)["messages"]] == ["Hello Dave, could we talk about Rust?"]
    # dave answers with markup and a link: the page shows them as text, within seconds and without a reload.
    hostile = 'Sure! <b id="injected">bold</b> <img src=x onerror=alert(1)> https://evil.example/x'
    dave.run("send", "erin", hostile)
    expect(page.locator(MESSAGES)).to_contain_text(hostile, timeout=5_000)
    assert page.locator(f"{MESSAGES} b, {MESSAGES} img, {MESSAGES} a").count() == 0
    # Unread counts: on the Matches screen and its nav label, gone once read.
    erin.screen("matches")
    dave.run("send", "erin", "Are you there?")
    expect(page.locator("[data-write=dave]")).to_have_text("Write (1 unread)", timeout=5_000)
    expect(page.locator("#unread-count")).to_contain_text("1")
    open_conversation(erin)
    expect(page.locator(MESSAGES)).to_contain_text("Are you there?")
    erin.screen("matches")
    expect(page.locator("[data-write=dave]")).to_have_text("Write")
    expect(page.locator("#unread-count")).to_be_hidden()
    # Contact details: saved on the Security screen (this device only), shared into the conversation.
    erin.screen("keys")
    page.fill("#contact-email", "erin@example.org")
    page.fill("#contact-chat", "@erin:matrix.example")
    page.click("#contact-form button[type=submit]")
    expect(page.locator("#status")).to_contain_text("saved on this device only")
    open_conversation(erin)
    page.click("#share-contact")
    expect(page.locator("#status")).to_contain_text("contact details were sent")
    shared = read(dave)["messages"][-1]["payload"]
    assert (shared["type"], shared["email"], shared["chat"]) == ("contact", "erin@example.org", "@erin:matrix.example")
    # A meeting: dave proposes, erin suggests another time, dave accepts it; both calendars get the same bytes.
    dave.run("meet", "erin", "--at", "2026-12-10T15:00:00Z", "--place", "Café Rouge, Leeds", "--topic", "Coffee; Rust")
    expect(page.locator("[data-suggest]")).to_be_visible(timeout=5_000)
    page.click("[data-suggest]")
    page.fill("#meeting-date", "2026-12-11")
    page.fill("#meeting-time", "09:30")
    page.click("#meeting-send")
    expect(page.locator("#status")).to_contain_text("Another time was suggested")
    dave_ics = ics(dave, "accept", "erin")
    with page.expect_download(timeout=10_000) as download:
        page.locator("[data-meeting]").click(timeout=10_000)
    page_ics = open(download.value.path(), "rb").read()
    assert page_ics == dave_ics, (page_ics, dave_ics)
    assert b"SUMMARY:Coffee\\; Rust\r\n" in page_ics and b"LOCATION:Caf\xc3\xa9 Rouge\\, Leeds\r\n" in page_ics
    assert ics(dave, "ics", "erin") == dave_ics
    # erin proposes one through the form; dave accepts; erin's page offers the same event.
    page.fill("#meeting-date", "2026-12-20")
    page.fill("#meeting-time", "18:00")
    page.fill("#meeting-link", "https://meet.example/erin-dave")
    page.fill("#meeting-topic", "Follow-up")
    page.click("#meeting-send")
    expect(page.locator("#status")).to_contain_text("The meeting was proposed")
    second = ics(dave, "accept", "erin")
    assert b"SUMMARY:Follow-up\r\n" in second
    expect(page.locator("[data-meeting]")).to_have_count(2, timeout=5_000)
    with page.expect_download() as download:
        page.locator("[data-meeting]").nth(1).click()
    assert open(download.value.path(), "rb").read() == second
    # dave ends it; erin's page says so without a reload, and the server holds no message any more.
    dave.run("end", "erin")
    expect(page.locator("#conversation-ended")).to_be_visible(timeout=5_000)
    expect(page.locator("#compose-form")).to_be_hidden()
    assert server.rows("SELECT count(*) FROM message")[0][0] == 0
    assert read(dave)["ended"] is True
    # Reports, after the end: erin's page with the messages (the form says first that they go readable), dave's
    # CLI without them.
    page.click("#report-start")
    page.fill("#report-reason", "He kept pushing after I said no")
    expect(page.locator("#report-sends")).to_contain_text("None of your messages leave this device")
    page.check("#report-include")
    shown = [(m["seq"], m["fromMe"], m["payload"]) for m in stored_messages(erin)]
    expect(page.locator("#report-sends")).to_contain_text(f"the {len(shown)} messages shown above go to the organizers unencrypted")
    page.click("#report-go")
    expect(page.locator("#status")).to_contain_text(f"with {len(shown)} messages they can read")
    assert dave.run("report", "erin", "--reason", "Not a fit") == "reported erin to the operator and the program's organizers, without any message\n"
    listed = reports(server)
    assert [(r["reporter"], r["reported"], r["reason"]) for r in listed] == [
        ("erin", "dave", "He kept pushing after I said no"), ("dave", "erin", "Not a fit")]
    assert listed[1]["messages"] == []
    # erin's quotes are what her page shows, and what dave's device shows of the same messages.
    assert [(m["seq"], m["fromMe"], m["text"]) for m in listed[0]["messages"]] == shown and len(shown) == 9
    daves = {m["seq"]: m for m in read(dave)["messages"]}
    assert all(json.loads(m["text"]) == daves[m["seq"]]["payload"] and m["fromMe"] != daves[m["seq"]]["fromMe"]
               for m in listed[0]["messages"])
    assert "Hello Dave, could we talk about Rust?" in server.admin("report", "list", "acme").stdout
    assert not [c for c in erin.console if "pageerror" in c], erin.console
    # The admin API answers the same list.
    credential = pathlib.Path(server.folder) / "admin-credential"
    credential.touch(mode=0o600)
    credential.write_text(ADMIN_CREDENTIAL)
    server.stop()
    server.start("--admin-credential-file", str(credential))
    request = urllib.request.Request(server.base + "/v1/admin/programs/acme/reports",
                                     headers={"Authorization": f"Bearer {ADMIN_CREDENTIAL}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["reports"] == listed


def test_the_browser_member_ends_and_the_cli_sees_it(cli, members, invite, server):
    """Also: erin reports dave from the page after the end, with the messages; dave's message holds what the
    server's plain-text rule refuses in a report (a zero-width space, a bidi override, a C1 control), which the
    server writes as JSON escapes after NFC (which leaves e with five marks one character with four), the bytes
    the Swift client's report gets."""
    dave, erin = converse_world(cli, members, invite)
    hostile = "Hi\u200b Erin\u202e e\u0301\u0301\u0301\u0301\u0301 \u0085end"
    dave.run("send", "erin", hostile)
    open_conversation(erin)
    expect(erin.page.locator(MESSAGES)).to_contain_text("Hi")
    erin.page.click("#end-start")
    expect(erin.page.locator("#end-confirm")).to_contain_text("They will see that it was ended")
    erin.page.click("#end-go")
    expect(erin.page.locator("#conversation-ended")).to_be_visible()
    listed = json.loads(dave.run("conversations", "--json"))
    assert listed == [{"epoch": listed[0]["epoch"], "ended": True, "handle": "erin", "messages": 0, "unread": 0,
                       "wants": "mentee"}]
    erin.page.click("#report-start")
    erin.page.fill("#report-reason", "Odd messages")
    erin.page.check("#report-include")
    erin.page.click("#report-go")
    expect(erin.page.locator("#status")).to_contain_text("with 1 message they can read")
    [quoted] = reports(server)[0]["messages"]
    assert quoted["text"] == ('{"text":"Hi\\u200B Erin\\u202E \u00e9\u0301\u0301\u0301\u0301 \\u0085end",'
                              '"type":"text"}'), quoted
    assert json.loads(quoted["text"]) == {"text": unicodedata.normalize("NFC", hostile), "type": "text"}
    assert (quoted["seq"], quoted["fromMe"]) == (1, False)


@pytest.mark.parametrize("texts,sent,left_out", [
    (["x" + "\u0344" * 3], 1, 0),  # five combining marks on one character once NFC-normalised
    (["x" + "\u200b" * 1332 + "y"], 1, 0),  # 3,996 bytes whose escapes are 7,992 characters
    (['"' * 2000] * 45, 32, 13),  # about 8 KB each in the request, 360 KB in all: past the 320 KiB limit
], ids=["nfc-marks", "escapes-lengthen", "body-limit"])
def test_a_report_with_messages_is_always_sendable_and_quotes_what_the_page_showed(cli, members, invite, server,
                                                                                   texts, sent, left_out):
    """dave cannot make erin's report with messages impossible. Each report is accepted and quotes what the page
    shows; the newest that fit 256 KiB go, and the page says before and after sending how many older ones stay."""
    dave, erin = converse_world(cli, members, invite)
    page = erin.page
    for text in texts:
        dave.run("send", "erin", text)
    open_conversation(erin)
    expect(page.locator(f"{MESSAGES} li")).to_have_count(len(texts), timeout=60_000)
    page.click("#report-start")
    page.fill("#report-reason", "Odd messages")
    page.check("#report-include")
    if left_out:
        expect(page.locator("#report-sends")).to_contain_text(
            f"the newest {sent} messages go to the organizers unencrypted")
        expect(page.locator("#report-sends")).to_contain_text(f"{left_out} older messages do not fit")
    page.click("#report-go")
    after = f" {left_out} older messages did not fit and stayed on this device." if left_out else ""
    expect(page.locator("#status")).to_have_text(
        f"Your report went to the organizers, with {sent} message{'s' if sent > 1 else ''} they can read.{after}")
    quoted = reports(server)[0]["messages"]
    shown = [m for m in stored_messages(erin) if m.get("payload")][-sent:]
    assert [q["seq"] for q in quoted] == [m["seq"] for m in shown]
    assert [unicodedata.normalize("NFC", json.loads(q["text"])["text"]) for q in quoted] == [
        unicodedata.normalize("NFC", json.loads(m["payload"])["text"]) for m in shown]


def test_the_page_quotes_the_shared_cases_as_swift_does(members, invite):
    """The page's reportedMessages on Tests/web/report_quote_cases.json, which ReportQuoteTests runs in Swift: the
    same bytes (only the members the screen shows), and nothing of a payload that names a member twice."""
    cases = json.loads((pathlib.Path(__file__).parent / "report_quote_cases.json").read_text())["cases"]
    erin = members("erin").join(invite, "Erin Browser")
    quoted = erin.page.evaluate("""async (cases) => {
        const { reportedMessages } = await import("/web/conversations.js");
        return cases.map((c, i) => {
            const got = reportedMessages({ messages: [{ seq: i + 1, fromMe: false, payload: c.payload }] }, "Odd");
            return (got.messages ?? got).map((m) => m.text);
        });
    }""", cases)
    for case, got in zip(cases, quoted):
        assert got == ([case["quote"]] if case["quote"] is not None else []), case["comment"]


def test_the_conversation_screen_passes_axe_and_works_by_keyboard_at_375_pixels(cli, members, invite):
    dave, erin = converse_world(cli, members, invite, viewport={"width": 375, "height": 740})
    dave.run("meet", "erin", "--at", "2026-12-10T15:00:00Z", "--link", "https://meet.example/a-very-long-room-name-that-must-wrap-on-a-phone", "--topic", "Coffee")
    page = erin.page
    open_conversation(erin)
    expect(page.locator("[data-accept]")).to_be_visible()
    axe_check(page, "conversation", impacts=("moderate", "serious", "critical"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    # Keyboard only: from the top of the screen to the compose box, type, send with Enter on the button.
    page.focus("#main")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "compose-text":
            break
    else:
        raise AssertionError("the compose box is not reachable with Tab")
    page.keyboard.type("Typed with the keyboard only")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(MESSAGES)).to_contain_text("Typed with the keyboard only")
    assert read(dave)["messages"][-1]["payload"]["text"] == "Typed with the keyboard only"
    # Accept by keyboard too; the calendar button then shows.
    page.focus("[data-accept]")
    page.keyboard.press("Enter")
    expect(page.locator("[data-meeting]")).to_be_visible()
    axe_check(page, "conversation after accepting", impacts=("moderate", "serious", "critical"))
    # Report by keyboard: open the form, write, tick the box, send; the outcome takes the focus, in view.
    page.focus("#report-start")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "report-reason"
    page.keyboard.type("Typed report")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "report-include"
    page.keyboard.press("Space")
    expect(page.locator("#report-sends")).to_contain_text("the 3 messages shown above go to the organizers unencrypted")
    axe_check(page, "conversation with the report form", impacts=("moderate", "serious", "critical"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "report-go"
    page.keyboard.press("Enter")
    assert outcome_in_view(page, "Your report went to the organizers, with 3 messages they can read") is None
    expect(page.locator("#report-form")).to_be_hidden()
    erin.shot("phone-conversation")
    page.set_viewport_size({"width": 1100, "height": 900})
    erin.shot("wide-conversation")


def test_what_the_page_sends_for_a_message_does_not_say_which_kind_it_is(cli, members, invite, server):
    """A text, shared contact details, a proposed meeting and an accepted one each send one POST of the same size
    (one envelope of the smallest class) and nothing after it: the server cannot tell them apart by the requests,
    and no answer of a member leads the page to ask anything more. The page's clock is paused, so no timer adds a
    request. A report is sent only by "Send the report", as one POST holding the reason and, only when the member
    ticked the box, the messages the page keeps."""
    dave, erin = converse_world(cli, members, invite, clock=True)
    page = erin.page
    erin.screen("keys")
    page.fill("#contact-email", "erin@example.org")
    page.click("#contact-form button[type=submit]")
    expect(page.locator("#status")).to_contain_text("saved on this device only")
    dave.run("meet", "erin", "--at", "2026-12-10T15:00:00Z", "--place", "Library", "--topic", "Coffee")
    record = Recorder(page)
    open_conversation(erin)
    expect(page.locator("[data-accept]")).to_be_visible()
    opened = [route for _, route, _ in shape(record.entries)]
    assert opened[-6:] == ["/v1/me", "/v1/log/head", "/v1/matches", "/v1/marks", "/v1/conversations",
                           "/v1/conversations/{token}/messages?after"], opened
    idle(page)
    page.clock.pause_at(time.time() + 1)
    idle(page)

    def text():
        page.fill("#compose-text", "See you soon")
        page.click("#compose-form button[type=submit]")

    def meeting():
        page.fill("#meeting-date", "2026-12-20")
        page.fill("#meeting-time", "18:00")
        page.fill("#meeting-place", "Café")
        page.fill("#meeting-topic", "Follow-up")
        page.click("#meeting-send")

    seen = {}
    for name, action in [("text", text), ("contact", lambda: page.click("#share-contact")), ("meeting", meeting),
                         ("accept", lambda: page.click("[data-accept]"))]:
        start = record.mark()
        action()
        idle(page)
        time.sleep(1.5)
        idle(page)
        seen[name] = shape(record.entries[start:])
    assert len(set(map(tuple, seen.values()))) == 1, seen
    assert seen["text"] == [("POST", "/v1/conversations/{token}/messages", seen["text"][0][2])], seen
    assert [m["payload"]["type"] for m in read(dave)["messages"]][-4:] == ["text", "contact", "meeting", "meeting-reply"]

    # A report: opening the form, writing and ticking the box send nothing; "Send the report" sends one POST.
    # Without the box its body is the reason alone and the operator's list holds no message; with it, the
    # messages the page keeps, exactly.
    start = record.mark()
    page.click("#report-start")
    page.fill("#report-reason", "Spam")
    page.check("#report-include")
    page.uncheck("#report-include")
    idle(page)
    time.sleep(1.5)
    assert record.entries[start:] == []
    page.click("#report-go")
    expect(page.locator("#status")).to_contain_text("without your messages")
    idle(page)
    time.sleep(1.5)
    sent = record.entries[start:]
    assert [(method, route) for _, method, route, _, _ in sent] == [("POST", "/v1/conversations/{token}/report")]
    assert json.loads(sent[0][4].split("/report", 1)[1]) == {"reason": "Spam", "messages": None}
    assert reports(server)[0]["messages"] == []
    start = record.mark()
    page.click("#report-start")
    page.fill("#report-reason", "Spam, with what was said")
    page.check("#report-include")
    page.click("#report-go")
    expect(page.locator("#status")).to_contain_text("with 5 messages they can read")
    idle(page)
    time.sleep(1.5)
    sent = record.entries[start:]
    assert [(method, route) for _, method, route, _, _ in sent] == [("POST", "/v1/conversations/{token}/report")]
    kept = [{"seq": m["seq"], "fromMe": m["fromMe"], "text": m["payload"]} for m in stored_messages(erin)]
    assert json.loads(sent[0][4].split("/report", 1)[1])["messages"] == kept and len(kept) == 5
    assert reports(server)[0]["messages"] == kept


def test_the_page_makes_the_calendar_events_of_the_shared_cases(members, invite):
    """The page's meetingIcs on Tests/web/meeting_ics_cases.json, which MeetingCalendarTests runs in Swift: the
    same bytes, and no event for an invalid meeting."""
    cases = json.loads((pathlib.Path(__file__).parent / "meeting_ics_cases.json").read_text())
    erin = members("erin").join(invite, "Erin Browser")
    made = erin.page.evaluate("""async (cases) => {
        const { meetingIcs } = await import("/web/conversation-payload.js");
        const refused = [];
        for (const c of cases.invalid) { try { meetingIcs(c.payload); refused.push(false); } catch (e) { refused.push(e.code); } }
        return { valid: cases.valid.map((c) => meetingIcs(c.payload)), refused };
    }""", cases)
    assert made["valid"] == [c["ics"] for c in cases["valid"]]
    assert made["refused"] == ["invalid-payload"] * len(cases["invalid"])
