"""The program's description and code of conduct (#25 item 7): set by the operator with `reciprocityd admin program
describe`, shown to a new member as soon as the join is accepted (the join answer's program) and on the About
screen from every poll's GET /v1/me, always as text (markup in them shows as the characters it is made of); and
the CLI member sees them after `reciprocity join` and with `reciprocity about`."""

from playwright.sync_api import expect

from support import axe_check, idle, run

DESCRIPTION = "Mentoring for the <b>café</b> guild.\nSecond line <img src=x onerror=alert(1)>\n\nA new paragraph."
CONDUCT = "1. Be kind.\n2. No spam: <script>alert(2)</script>"


def describe(server, tmp_path, description=DESCRIPTION, conduct=CONDUCT):
    path = tmp_path / "description.txt"
    path.write_text(description, encoding="utf-8")
    return server.admin("program", "describe", "acme", "--description-file", str(path), "--conduct", conduct)


def test_a_new_member_reads_the_texts_as_text_and_finds_them_again(server, members, invite, tmp_path):
    made = describe(server, tmp_path)
    assert made.stdout.strip() == f"program acme: description {len(DESCRIPTION)} characters, code of conduct " \
                                  f"{len(CONDUCT)} characters", made.stdout
    amy = members("amy").join(invite, "Amy")
    page = amy.page
    # The join lands on the About screen, drawn from the join answer: the texts, never their markup.
    expect(page.locator("#screen-about")).to_be_visible()
    expect(page.locator("#about-program-name")).to_have_text("acme")
    description = page.locator("#program-description")
    assert description.locator("p").all_inner_texts() == [
        "Mentoring for the <b>café</b> guild.\nSecond line <img src=x onerror=alert(1)>", "A new paragraph."]
    assert page.locator("#program-about b, #program-about img, #program-about script").count() == 0
    conduct = page.locator("details#program-conduct")
    expect(conduct).not_to_have_attribute("open", "")
    expect(conduct.locator("summary")).to_have_text("Code of conduct")
    conduct.locator("summary").click()
    expect(conduct.locator("p")).to_be_visible()
    assert conduct.locator("p").inner_text() == "1. Be kind.\n2. No spam: <script>alert(2)</script>"
    axe_check(page, "about screen")
    amy.shot("program-about")
    # Reachable from the menu after a reload (drawn from the poll), with what the operator changed meanwhile.
    server.admin("program", "describe", "acme", "--description", "Changed.")
    page.reload()
    expect(page.locator("#screen-profile")).to_be_visible()
    amy.screen("about")
    expect(page.locator("#program-description")).to_have_text("Changed.")
    expect(page.locator("#program-conduct p")).to_have_text("1. Be kind.2. No spam: <script>alert(2)</script>")
    assert not [line for line in amy.console if "alert" in line or "pageerror" in line], amy.console


def test_a_program_without_texts_opens_on_the_profile_and_says_so(server, members, invite):
    bea = members("bea").join(invite, "Bea")
    expect(bea.page.locator("#screen-profile")).to_be_visible()
    bea.screen("about")
    expect(bea.page.locator("#program-about")).to_contain_text("The operator has not described acme yet.")
    expect(bea.page.locator("#program-about")).to_contain_text("No code of conduct has been set.")
    idle(bea.page)


def test_the_cli_shows_the_texts_and_the_operator_commands_refuse_bad_input(server, cli, invite, tmp_path):
    describe(server, tmp_path)
    member = cli("cli-cleo")
    joined = member.run("join", "--server", server.base, "--program", "acme", "--invite", invite, "--handle", "cleo")
    assert "about this program:\nMentoring for the <b>café</b> guild.\nSecond line" in joined, joined
    assert "code of conduct:\n1. Be kind.\n2. No spam: <script>alert(2)</script>" in joined, joined
    about = member.run("about")
    assert about.startswith("program acme\n") and "A new paragraph." in about, about
    shown = server.admin("program", "show", "acme").stdout
    assert "description:\nMentoring for the" in shown and "code of conduct:\n1. Be kind." in shown, shown
    # Bad input: one sentence, a non-zero exit, nothing changed.
    reciprocityd = server.bin / "reciprocityd"
    for arguments, sentence in [
        (["--description", "x" * 1001], "description must be at most 1000 characters"),
        (["--conduct", "bidi \u202e"], "conduct must not contain invisible or text-direction characters"),
        (["--description", "a", "--description-file", str(tmp_path / "description.txt")], "not both"),
        (["--description-file", str(tmp_path / "missing.txt")], "cannot read --description-file"),
        (["--clear", "--conduct", "x"], "--clear clears both texts"),
        ([], "give --description, --description-file"),
    ]:
        result = run(reciprocityd, "admin", "program", "describe", "acme", *arguments, "--database", server.database,
                     check=False)
        assert result.returncode != 0 and sentence in result.stderr, (arguments, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    unknown = run(reciprocityd, "admin", "program", "describe", "nowhere", "--description", "x", "--database",
                  server.database, check=False)
    assert unknown.returncode != 0 and "no program named 'nowhere'" in unknown.stderr, unknown.stderr
    assert "A new paragraph." in server.admin("program", "show", "acme").stdout
    server.admin("program", "describe", "acme", "--clear")
    assert server.admin("program", "show", "acme").stdout == "description:\n(not set)\n\ncode of conduct:\n(not set)\n"
    assert "(not set by the operator)" in member.run("about")
