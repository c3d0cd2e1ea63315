"""Key backups between the command line and the browser (Specs/backup.md), for real.

A real `reciprocityd` (temporary SQLite file) and the real `reciprocity` CLI make a membership with a pending
interest, a dummy-padded set of marks and a verified match; `reciprocity key export` writes a backup; in
headless Chromium, backup.js (as the server serves it) opens it and must find exactly the CLI's private key and
state.json. Then the page writes a backup of that key and state with exportBackup, `reciprocity key import`
installs it on a fresh device (a new RECIPROCITY_HOME), and that device's interests, matches and fingerprint
must be the first device's. Also: wrong passphrases on both sides, a state with the page's millisecond dates,
and the writer's limits in the page.

The CLI membership, its backup, the page and the page's backup are module fixtures (made once, read by every
test, changed by none); any test runs alone: `python3 -m pytest Tests/web/test_backup.py -k fingerprint`.
"""

import base64
import json
import os
import pty
import select
import time
import types

import pytest

from support import run, start_server

PASSPHRASE = "otter lantern cobalt vinyl harbour"
WRONG_PASSPHRASE = "otter lantern cobalt vinyl harbor"
LOAD = "const b = await import('/web/backup.js');"


def private_file(path, text):
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def import_at_prompt(cli, backup, home, passphrase):
    """`reciprocity key import` typing the passphrase at its terminal prompt (a pseudo-terminal): returns
    (exit status, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["RECIPROCITY_HOME"] = str(home)
        os.execv(str(cli), ["reciprocity", "key", "import", str(backup)])
    shown = b""
    deadline = time.monotonic() + 60

    def read_some():
        if not select.select([fd], [], [], max(0, deadline - time.monotonic()))[0]:
            raise TimeoutError
        chunk = os.read(fd, 1024)
        if not chunk:
            raise EOFError
        return chunk

    try:
        while b"passphrase: " not in shown:
            shown += read_some()
        os.write(fd, passphrase.encode() + b"\n")
        while True:
            shown += read_some()
    except TimeoutError:
        os.kill(pid, 9)
        shown += b" [no answer in 60 s]"
    except (OSError, EOFError):
        pass
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def membership_folder(home):
    """The one membership folder under a RECIPROCITY_HOME (<home>/<server>/<program>)."""
    folders = [p for p in home.glob("*/*") if (p / "state.json").exists()]
    assert len(folders) == 1, folders
    return folders[0]


def read_key(folder):
    return base64.urlsafe_b64decode((folder / "private.key").read_text().strip() + "=")


@pytest.fixture(scope="module")
def alice(bin_dir, web_folder, served_as_source, tmp_path_factory):
    """alice, a CLI member with a verified match (bob) and a pending interest (carol), and her backup."""
    work = tmp_path_factory.mktemp("backup")
    server = start_server(bin_dir, work, web_folder)
    cli = bin_dir / "reciprocity"
    invite = server.invite(10)
    homes = {name: work / f"home-{name}" for name in ("alice", "bob", "carol", "laptop", "tablet", "wrong", "phone")}
    for name in ("alice", "bob", "carol"):
        run(cli, "join", "--server", server.base, "--program", "acme", "--invite", invite, "--handle", name, home=homes[name])
    run(cli, "interest", "add", "bob", "--as", "mentor", "--note", "Coffee next week?", home=homes["alice"])
    run(cli, "interest", "add", "carol", "--as", "peer", home=homes["alice"])
    run(cli, "interest", "add", "alice", "--as", "mentee", "--note", "Gladly", home=homes["bob"])
    matches = json.loads(run(cli, "matches", "--json", home=homes["alice"]).stdout)
    interests = json.loads(run(cli, "interest", "list", "--json", home=homes["alice"]).stdout)
    fingerprint = run(cli, "key", "fingerprint", home=homes["alice"]).stdout
    folder = membership_folder(homes["alice"])
    key, state = read_key(folder), json.loads((folder / "state.json").read_text())
    secret = private_file(work / "passphrase", PASSPHRASE + "\n")
    backup = work / "alice-cli.backup"
    run(cli, "key", "export", "--out", str(backup), "--passphrase-file", str(secret), home=homes["alice"])
    yield types.SimpleNamespace(server=server, cli=cli, work=work, homes=homes, secret=secret, backup=backup,
                                matches=matches, interests=interests, fingerprint=fingerprint, key=key, state=state)
    server.stop()


@pytest.fixture(scope="module")
def origin_page(browser, alice):
    """A page on the server's origin (any same-origin document will do: backup.js is imported as the server
    serves it), and the page errors it has had."""
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(alice.server.base + "/web-manifest.json")
    yield page, errors
    context.close()


@pytest.fixture
def page(origin_page):
    """The module's page; no page error while the test uses it."""
    page, errors = origin_page
    had = len(errors)
    yield page
    assert errors[had:] == [], errors[had:]


@pytest.fixture(scope="module")
def opened(origin_page, alice):
    """The CLI's backup as backup.js opens it."""
    return origin_page[0].evaluate("""async ([text, passphrase]) => { %s
        const t = performance.now();
        const r = await b.importBackup(text, passphrase);
        return { privateKey: Array.from(r.privateKey), state: r.state, iterations: r.iterations, seconds: (performance.now() - t) / 1000 };
    }""" % LOAD, [alice.backup.read_text(encoding="utf-8"), PASSPHRASE])


@pytest.fixture(scope="module")
def page_backup(origin_page, alice, opened):
    """The backup the page writes of the key and state it holds (exportBackup's defaults)."""
    exported = origin_page[0].evaluate("""async ([key, state, passphrase]) => { %s
        const t = performance.now();
        const text = await b.exportBackup({ privateKey: new Uint8Array(key), state }, passphrase);
        return { text, seconds: (performance.now() - t) / 1000 };
    }""" % LOAD, [opened["privateKey"], opened["state"], PASSPHRASE])
    print(f"exportBackup: {exported['seconds']:.2f} s in Chromium")
    return private_file(alice.work / "alice-page.backup", exported["text"])


@pytest.fixture(scope="module")
def laptop(alice, page_backup):
    """A fresh device that imported the page's backup: (the import's result, its membership folder)."""
    imported = run(alice.cli, "key", "import", str(page_backup), "--passphrase-file", str(alice.secret),
                   home=alice.homes["laptop"], check=False)
    assert imported.returncode == 0, imported.stderr
    return imported, membership_folder(alice.homes["laptop"])


def test_the_cli_member_has_a_verified_match_and_a_pending_interest(alice):
    assert [m["handle"] for m in alice.matches if m["verified"]] == ["bob"], alice.matches
    assert sorted(i["state"] for i in alice.interests) == ["matched", "pending"], alice.interests


def test_key_import_asks_for_the_passphrase_on_the_terminal_without_echoing_it(alice):
    status, shown = import_at_prompt(alice.cli, alice.backup, alice.homes["phone"], PASSPHRASE)
    assert status == 0 and "Backup passphrase:" in shown and PASSPHRASE not in shown and "imported alice" in shown, shown
    assert json.loads((membership_folder(alice.homes["phone"]) / "state.json").read_text()) == alice.state, shown


def test_backupjs_opens_the_cli_backup_with_the_same_private_key(page, alice, opened):
    assert bytes(opened["privateKey"]) == alice.key


def test_backupjs_opens_the_cli_backup_with_the_same_state_as_state_json(page, alice, opened):
    assert opened["state"] == alice.state


def test_the_cli_wrote_1_000_000_iterations(page, opened):
    print(f"the page opened it in {opened['seconds']:.2f} s")
    assert opened["iterations"] == 1_000_000


def test_backupjs_a_wrong_passphrase_is_backup_wrong_passphrase(page, alice):
    refused = page.evaluate("""async ([text, wrong]) => { %s
        try { await b.importBackup(text, wrong); return "opened"; }
        catch (e) { return e.code; } }""" % LOAD, [alice.backup.read_text(encoding="utf-8"), WRONG_PASSPHRASE])
    assert refused == "backupWrongPassphrase", refused


def test_export_backup_writes_1_000_000_iterations_by_default(page, page_backup):
    assert json.loads(page_backup.read_text())["iterations"] == 1_000_000


def test_the_cli_refuses_the_pages_backup_with_a_wrong_passphrase(alice, page_backup):
    wrong_secret = private_file(alice.work / "wrong-passphrase", WRONG_PASSPHRASE + "\n")
    wrong = run(alice.cli, "key", "import", str(page_backup), "--passphrase-file", str(wrong_secret),
                home=alice.homes["wrong"], check=False)
    assert wrong.returncode != 0 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert "does not open with this passphrase" in wrong.stderr and not alice.homes["wrong"].exists(), wrong.stderr


def test_key_import_opens_the_pages_backup(laptop):
    imported, _ = laptop
    assert imported.returncode == 0 and not imported.stderr, imported.stderr


def test_the_imported_device_holds_the_same_key(alice, laptop):
    assert read_key(laptop[1]) == alice.key


def test_the_imported_device_holds_the_same_state(alice, laptop):
    assert json.loads((laptop[1] / "state.json").read_text()) == alice.state


def test_the_imported_device_shows_the_same_fingerprint(alice, laptop):
    assert run(alice.cli, "key", "fingerprint", home=alice.homes["laptop"]).stdout == alice.fingerprint


def test_the_imported_device_lists_the_same_interests(alice, laptop):
    assert json.loads(run(alice.cli, "interest", "list", "--json", home=alice.homes["laptop"]).stdout) == alice.interests


def test_the_imported_devices_matches_are_the_same_verified_with_no_warning(alice, laptop):
    matches = run(alice.cli, "matches", "--json", home=alice.homes["laptop"], check=False)
    assert matches.returncode == 0 and not matches.stderr, matches.stderr
    assert json.loads(matches.stdout) == alice.matches


def test_the_cli_imports_a_state_with_the_pages_millisecond_dates(page, alice, opened):
    # A state as the page writes dates (Date.toISOString(), milliseconds).
    page_state = json.loads(json.dumps(alice.state))
    for mark in page_state["marks"]:
        mark["createdAt"] = mark["createdAt"].replace("Z", ".123Z")
    dated = page.evaluate("""async ([key, state, passphrase]) => { %s
        return b.exportBackup({ privateKey: new Uint8Array(key), state }, passphrase, { iterations: 600000 }); }""" % LOAD,
                          [opened["privateKey"], page_state, PASSPHRASE])
    dated_backup = private_file(alice.work / "alice-dated.backup", dated)
    tablet = run(alice.cli, "key", "import", str(dated_backup), "--passphrase-file", str(alice.secret),
                 home=alice.homes["tablet"], check=False)
    assert tablet.returncode == 0, tablet.stderr
    assert json.loads(run(alice.cli, "interest", "list", "--json", home=alice.homes["tablet"]).stdout) == alice.interests


def test_export_backup_refuses_a_short_passphrase_and_too_few_iterations(page, opened):
    limits = page.evaluate("""async ([key, passphrase]) => { %s
        const codes = [];
        for (const [p, options] of [["fourteen chars", {}], [passphrase, { iterations: 599999 }]]) {
            try { await b.exportBackup({ privateKey: new Uint8Array(key), state: {} }, p, options); codes.push("written"); }
            catch (e) { codes.push(e.code); }
        }
        return codes; }""" % LOAD, [opened["privateKey"], PASSPHRASE])
    assert limits == ["backupPassphraseTooShort", "backupIterationsOutOfRange"], limits


def test_no_page_errors(origin_page, opened, page_backup):
    """Opening and writing backups in the page raised no page error."""
    assert origin_page[1] == [], origin_page[1]
