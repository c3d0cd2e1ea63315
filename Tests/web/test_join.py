"""Joining from an invite link in the web app, and the joins it refuses: a wrong or used-up invite, an invalid,
taken or look-alike handle (a clear message, nothing stored, the next try works)."""

import json
import re

from playwright.sync_api import expect


def test_two_members_join_with_the_cli_state_shape(alice_and_bob):
    for m in alice_and_bob:
        state = json.loads(m.state())
        assert state["handle"] == m.handle and state["credential"].startswith("rcpm_") and state["replica"]["live"][m.handle]
        assert state["logKey"] and state["treeHead"].startswith("reciprocity-sth/v1 acme ")


def test_invite_create_prints_the_join_link(server, members):
    made = server.admin("invite", "create", "--program", "acme", "--uses", "3", "--public-url", server.base + "/")
    code = made.stdout.strip()
    assert re.fullmatch(r"rcpi_[A-Za-z0-9_-]+", code), made.stdout
    link = f"{server.base}/join#program=acme&invite={code}"
    assert made.stderr.strip() == f"join link: {link}", made.stderr
    bare = server.admin("invite", "create", "--program", "acme")
    assert bare.stderr.startswith(f"join link: /join#program=acme&invite={bare.stdout.strip()} "), bare.stderr
    # The printed link opens the join form with both filled in, and the address bar drops the code after joining.
    gina = members("gina")
    gina.page.goto(link)
    expect(gina.page.locator("#join-invite")).to_have_value(code)
    expect(gina.page.locator("#join-program")).to_have_value("acme")
    gina.join(code, "Gina Link", "Joined from the printed link", ["swift"], offers=True)
    assert code not in gina.page.url


def test_wrong_and_used_up_invites_store_nothing(server, members):
    frank = members("frank")
    frank.join("rcpi_" + "A" * 43, "Frank", expect_ok=False)
    expect(frank.page.locator("#error")).to_contain_text("This invite does not work")
    assert frank.state() is None, "a refused join stores nothing"
    frank.shot("error-invite")
    used = server.invite(1)
    members("june").join(used, "June")
    hank = members("hank")
    hank.join(used, "Hank", expect_ok=False)
    expect(hank.page.locator("#error")).to_contain_text("This invite does not work")
    assert hank.state() is None


def test_invalid_taken_and_look_alike_handles(members, invite, cli_member):
    cli_member("alice", "Alice Liddell")
    frank = members("Frank!")
    frank.join(invite, "Frank", expect_ok=False)
    expect(frank.page.locator("#error")).to_contain_text("A handle is 3 to 64 characters")
    assert frank.state() is None
    frank.handle = "alice"
    frank.join(invite, "Frank", expect_ok=False)
    expect(frank.page.locator("#error")).to_contain_text("That handle is taken")
    assert frank.state() is None
    frank.handle = "a1ice"  # looks like alice: taken too
    frank.page.fill("#join-handle", "a1ice")
    frank.page.click("#join-form button[type=submit]")
    expect(frank.page.locator("#error")).to_contain_text("That handle is taken")
    # The same form, another handle: it goes through (the invite was not spent by the refusals).
    frank.handle = "frank"
    frank.page.fill("#join-handle", "frank")
    frank.page.click("#join-form button[type=submit]")
    expect(frank.page.locator("#status")).to_contain_text("Welcome")
    assert json.loads(frank.state())["handle"] == "frank"
