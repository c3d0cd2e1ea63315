#!/usr/bin/env python3
"""Key backups between the command line and the browser (Specs/backup.md), for real.

A real `reciprocityd` (temporary SQLite file) and the real `reciprocity` CLI make a membership with a pending
interest, a dummy-padded set of marks and a verified match; `reciprocity key export` writes a backup; in
headless Chromium, backup.js (as the server serves it) opens it and must find exactly the CLI's private key and
state.json. Then the page writes a backup of that key and state with exportBackup, `reciprocity key import`
installs it on a fresh device (a new RECIPROCITY_HOME), and that device's interests, matches and fingerprint
must be the first device's. Also: wrong passphrases on both sides, a state with the page's millisecond dates,
and the writer's limits in the page. Prints one line per check and `N passed, M failed`; exits 1 on any failure.

Usage: Tests/web/test_backup.py [--bin-dir .build/debug] [--chromium /usr/bin/chromium]
"""

import argparse
import base64
import json
import os
import pathlib
import pty
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from playwright.sync_api import sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[2]
PASSPHRASE = "otter lantern cobalt vinyl harbour"


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok or not detail else f": {detail}"))
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(binary, *args, home=None, check=True):
    env = dict(os.environ)
    if home is not None:
        env["RECIPROCITY_HOME"] = str(home)
    result = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, timeout=120)
    if check and result.returncode != 0:
        raise SystemExit(f"{binary.name} {' '.join(args)} failed: {result.stderr.strip()}")
    return result


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin-dir", default=str(ROOT / ".build" / "debug"), help="where reciprocity and reciprocityd are")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium binary (default: Debian's)")
    args = parser.parse_args()
    cli = pathlib.Path(args.bin_dir) / "reciprocity"
    daemon = pathlib.Path(args.bin_dir) / "reciprocityd"
    for binary in (cli, daemon):
        if not binary.is_file():
            print(f"missing: {binary}: build it first (swift build)", file=sys.stderr)
            return 1
    if not pathlib.Path(args.chromium).is_file():
        print(f"missing: {args.chromium}: Debian's Chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    checks = Checks()
    started = time.monotonic()
    work = pathlib.Path(tempfile.mkdtemp(prefix="reciprocity-backup-"))
    server = None
    try:
        database = work / "server.sqlite"
        run(daemon, "admin", "program", "create", "acme", "--database", str(database))
        invite = run(daemon, "admin", "invite", "create", "--program", "acme", "--uses", "10",
                     "--database", str(database)).stdout.split()[0]
        port = free_port()
        server = subprocess.Popen([str(daemon), "serve", "--database", str(database), "--port", str(port),
                                   "--log-level", "error"], stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        homes = {name: work / f"home-{name}" for name in ("alice", "bob", "carol", "laptop", "tablet", "wrong", "phone")}
        for name in ("alice", "bob", "carol"):
            run(cli, "join", "--server", url, "--program", "acme", "--invite", invite, "--handle", name, home=homes[name])
        run(cli, "interest", "add", "bob", "--as", "mentor", "--note", "Coffee next week?", home=homes["alice"])
        run(cli, "interest", "add", "carol", "--as", "peer", home=homes["alice"])
        run(cli, "interest", "add", "alice", "--as", "mentee", "--note", "Gladly", home=homes["bob"])
        alice_matches = json.loads(run(cli, "matches", "--json", home=homes["alice"]).stdout)
        alice_interests = json.loads(run(cli, "interest", "list", "--json", home=homes["alice"]).stdout)
        alice_fingerprint = run(cli, "key", "fingerprint", home=homes["alice"]).stdout
        checks.check("the CLI member has a verified match and a pending interest",
                     [m["handle"] for m in alice_matches if m["verified"]] == ["bob"]
                     and sorted(i["state"] for i in alice_interests) == ["matched", "pending"], alice_interests)
        folder = membership_folder(homes["alice"])
        alice_key = base64.urlsafe_b64decode((folder / "private.key").read_text().strip() + "=")
        alice_state = json.loads((folder / "state.json").read_text())

        secret = private_file(work / "passphrase", PASSPHRASE + "\n")
        cli_backup = work / "alice-cli.backup"
        run(cli, "key", "export", "--out", str(cli_backup), "--passphrase-file", str(secret), home=homes["alice"])
        cli_text = cli_backup.read_text(encoding="utf-8")
        status, shown = import_at_prompt(cli, cli_backup, homes["phone"], PASSPHRASE)
        checks.check("reciprocity key import asks for the passphrase on the terminal without echoing it",
                     status == 0 and "Backup passphrase:" in shown and PASSPHRASE not in shown and "imported alice" in shown
                     and json.loads((membership_folder(homes["phone"]) / "state.json").read_text()) == alice_state, shown)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            # Any same-origin document of the real server will do: backup.js is imported as the server serves it.
            page.goto(url + "/web-manifest.json")
            load = "const b = await import('/web/backup.js');"

            # CLI -> browser.
            opened = page.evaluate("""async ([text, passphrase]) => { %s
                const t = performance.now();
                const r = await b.importBackup(text, passphrase);
                return { privateKey: Array.from(r.privateKey), state: r.state, iterations: r.iterations, seconds: (performance.now() - t) / 1000 };
            }""" % load, [cli_text, PASSPHRASE])
            checks.check("backup.js opens the CLI's backup: the same private key", bytes(opened["privateKey"]) == alice_key)
            checks.check("backup.js opens the CLI's backup: the same state as state.json", opened["state"] == alice_state)
            checks.check(f"the CLI wrote 1,000,000 iterations (the page opened it in {opened['seconds']:.2f} s)",
                         opened["iterations"] == 1_000_000)
            refused = page.evaluate("""async ([text]) => { %s
                try { await b.importBackup(text, "otter lantern cobalt vinyl harbor"); return "opened"; }
                catch (e) { return e.code; } }""" % load, [cli_text])
            checks.check("backup.js: a wrong passphrase is backupWrongPassphrase", refused == "backupWrongPassphrase", refused)

            # Browser -> CLI: the page writes a backup of the key and state it holds.
            exported = page.evaluate("""async ([key, state, passphrase]) => { %s
                const t = performance.now();
                const text = await b.exportBackup({ privateKey: new Uint8Array(key), state }, passphrase);
                return { text, seconds: (performance.now() - t) / 1000 };
            }""" % load, [opened["privateKey"], opened["state"], PASSPHRASE])
            page_backup = work / "alice-page.backup"
            private_file(page_backup, exported["text"])
            checks.check(f"exportBackup writes 1,000,000 iterations by default ({exported['seconds']:.2f} s in Chromium)",
                         json.loads(exported["text"])["iterations"] == 1_000_000)

            wrong_secret = private_file(work / "wrong-passphrase", "otter lantern cobalt vinyl harbor\n")
            wrong = run(cli, "key", "import", str(page_backup), "--passphrase-file", str(wrong_secret),
                        home=homes["wrong"], check=False)
            checks.check("the CLI refuses the page's backup with a wrong passphrase: one sentence, non-zero, nothing written",
                         wrong.returncode != 0 and len(wrong.stderr.strip().splitlines()) == 1
                         and "does not open with this passphrase" in wrong.stderr and not homes["wrong"].exists(),
                         wrong.stderr)

            imported = run(cli, "key", "import", str(page_backup), "--passphrase-file", str(secret),
                           home=homes["laptop"], check=False)
            checks.check("reciprocity key import opens the page's backup", imported.returncode == 0 and not imported.stderr,
                         imported.stderr)
            laptop = membership_folder(homes["laptop"])
            checks.check("the imported device holds the same key",
                         base64.urlsafe_b64decode((laptop / "private.key").read_text().strip() + "=") == alice_key)
            checks.check("the imported device holds the same state", json.loads((laptop / "state.json").read_text()) == alice_state)
            checks.check("the imported device shows the same fingerprint",
                         run(cli, "key", "fingerprint", home=homes["laptop"]).stdout == alice_fingerprint)
            checks.check("the imported device lists the same interests",
                         json.loads(run(cli, "interest", "list", "--json", home=homes["laptop"]).stdout) == alice_interests)
            laptop_matches = run(cli, "matches", "--json", home=homes["laptop"], check=False)
            checks.check("the imported device's matches are the same, verified, with no warning",
                         laptop_matches.returncode == 0 and not laptop_matches.stderr
                         and json.loads(laptop_matches.stdout) == alice_matches, laptop_matches.stderr)

            # A state as the page writes dates (Date.toISOString(), milliseconds) imports in the CLI too.
            page_state = json.loads(json.dumps(alice_state))
            for mark in page_state["marks"]:
                mark["createdAt"] = mark["createdAt"].replace("Z", ".123Z")
            dated = page.evaluate("""async ([key, state, passphrase]) => { %s
                return b.exportBackup({ privateKey: new Uint8Array(key), state }, passphrase, { iterations: 600000 }); }""" % load,
                                  [opened["privateKey"], page_state, PASSPHRASE])
            dated_backup = private_file(work / "alice-dated.backup", dated)
            tablet = run(cli, "key", "import", str(dated_backup), "--passphrase-file", str(secret), home=homes["tablet"],
                         check=False)
            checks.check("the CLI imports a state with the page's millisecond dates",
                         tablet.returncode == 0 and json.loads(run(cli, "interest", "list", "--json",
                                                                   home=homes["tablet"]).stdout) == alice_interests,
                         tablet.stderr)

            # The page's writer limits.
            limits = page.evaluate("""async ([key]) => { %s
                const codes = [];
                for (const [passphrase, options] of [["fourteen chars", {}], ["%s", { iterations: 599999 }]]) {
                    try { await b.exportBackup({ privateKey: new Uint8Array(key), state: {} }, passphrase, options); codes.push("written"); }
                    catch (e) { codes.push(e.code); }
                }
                return codes; }""" % (load, PASSPHRASE), [opened["privateKey"]])
            checks.check("exportBackup refuses a 14-character passphrase and fewer than 600,000 iterations",
                         limits == ["backupPassphraseTooShort", "backupIterationsOutOfRange"], limits)
            checks.check("no page errors", not errors, errors)
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"backup: {time.monotonic() - started:.1f} s")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed or checks.passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
