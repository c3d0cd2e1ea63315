"""A scheduled round's close on My interests: once an organizer schedules the program's next round
(`reciprocityd admin program schedule-round`, the program's `nextRoundAt` in GET /v1/me), the member reads one
sentence saying when it closes, in their own locale and time zone; nothing without a schedule. The sentence comes
from the poll the app makes anyway: showing the screen asks the server exactly the same with and without it."""

from datetime import datetime, time, timedelta, timezone
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from support import axe_check, idle

BERLIN = ZoneInfo("Europe/Berlin")


def close_in_three_days():
    """18:00 in Berlin three days from now: its RFC 3339 time in UTC, and how an en-GB browser there writes it."""
    now = datetime.now(BERLIN)
    local = datetime.combine(now.date() + timedelta(days=3), time(18, 0), BERLIN)
    year = "" if local.year == now.year else f" {local.year}"
    shown = f"{local:%a} {local.day} {local:%b}{year}, 18:00"
    return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), shown


def shown_again(member):
    """Leaves My interests and comes back (a poll), returning the requests showing it made."""
    member.screen("profile")
    first = len(member.requests)
    member.screen("interests")
    return [(r.method, urlsplit(r.url).path) for r in member.requests[first:]]


def test_my_interests_says_when_the_round_closes_and_nothing_without_a_schedule(server, members, invite):
    amy = members("amy", locale="en-GB", timezone="Europe/Berlin")
    amy.join(invite, "Amy")
    page, sentence = amy.page, amy.page.locator("#interests-round")
    amy.screen("interests")
    expect(sentence).to_be_hidden()
    unscheduled = shown_again(amy)
    expect(sentence).to_be_hidden()
    assert "round" not in page.locator("#screen-interests").inner_text().lower()

    at, shown = close_in_three_days()
    server.admin("program", "schedule-round", "acme", "--at", at)
    scheduled = shown_again(amy)
    expect(sentence).to_be_visible()
    expect(sentence).to_have_text(f"This round closes on {shown} (your time). Your interests are then sent again for "
                                  "the new round when you next open the app; matches stay.")
    assert scheduled == unscheduled, (scheduled, unscheduled)
    axe_check(page, "my interests with a round's close")
    amy.shot("interests-round-close")

    server.admin("program", "schedule-round", "acme", "--cancel")
    shown_again(amy)
    expect(sentence).to_be_hidden()
    assert not amy.console, amy.console


def test_the_round_close_fits_a_375_pixel_phone(server, members, invite):
    at, shown = close_in_three_days()
    server.admin("program", "schedule-round", "acme", "--at", at)
    ivy = members("ivy", viewport={"width": 375, "height": 812}, locale="en-GB", timezone="Europe/Berlin")
    ivy.join(invite, "Ivy Narrow")
    ivy.screen("interests")
    expect(ivy.page.locator("#interests-round")).to_contain_text(f"This round closes on {shown} (your time).")
    width = ivy.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"My interests is {width} px wide at a 375 px viewport"
    axe_check(ivy.page, "my interests with a round's close at 375 px")
    ivy.shot("mobile-interests-round-close")
    idle(ivy.page)
