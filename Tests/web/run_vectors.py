#!/usr/bin/env python3
"""Checks the web protocol module (the web folder, support.WEB) in headless Chromium.

Serves the web assets, Specs/vectors/ and this folder from a tiny static server on http://127.0.0.1 (a
secure context, so `crypto.subtle` exists), loads every top-level *.json vector file into the page and
checks every case with reciprocity.js; then RFC 8439's own ChaCha20, Poly1305 and AEAD vectors (first
checked against OpenSSL, so a typing error in them cannot pass), then the module's behaviour beyond the
vectors (protocol_checks.js). Prints one line per file, then `N passed, M failed`; exits 1 on any failure,
on a vector file or group that is not listed in KNOWN below, on a listed one that is missing, and on any
other entry of Specs/vectors/ (only the folder `schemas/` of JSON Schemas is expected there).

With --swift-cli, the module also computes vector files from random inputs (cross_checks.js) and the built
Swift CLI recomputes them (`reciprocity vectors verify`): the two implementations must agree beyond the fixed
vectors.

Usage: Tests/web/run_vectors.py [--chromium PATH] [--swift-cli .build/debug/reciprocity]
(Debian's chromium; Playwright downloads no browser). Under pytest, test_vectors.py runs the same checks with the
session's Chromium and CLI.
"""

import argparse
import functools
import http.server
import json
import pathlib
import re
import subprocess
import tempfile
import sys
import threading
import time

from playwright.sync_api import sync_playwright

import rfc8439_openssl
from support import ROOT, WEB

HERE = pathlib.Path(__file__).resolve().parent
VECTORS = ROOT / "Specs" / "vectors"
# URL prefix -> folder served under it.
MOUNTS = {"/web/": WEB, "/vectors/": VECTORS, "/test/": HERE}

# Every vector file the browser knows how to check, with its algorithm and its groups as (type, comment).
# A new file or group must be added here on purpose, with its check in vector_checks.js.
KNOWN = {
    "base64url_test.json": ("BASE64URL-32", {
        ("Base64URLTest", "valid"), ("Base64URLTest", "invalid"),
        ("Base64URLTest", "64-byte values (tree head signatures)"), ("Base64URLTest", "540-byte values (sealed notes)")}),
    "hkdf_sha256_rfc5869_test.json": ("HKDF-SHA-256", {("HkdfTest", "RFC 5869 appendix A, SHA-256 cases")}),
    "merkle_rfc9162_test.json": ("MERKLE-RFC9162-SHA256", {
        ("MerkleRootTest", "roots"), ("MerkleInclusionTest", "inclusion proofs"),
        ("MerkleConsistencyTest", "consistency proofs")}),
    "reciprocity_key_log_v1_test.json": ("RECIPROCITY-KEY-LOG-V1", {
        ("KeyLogTest", "valid logs"), ("KeyLogTest", "logs that break the directory rules"),
        ("TreeHeadTest", "signed tree heads"),
        ("KeyLogTest", "more logs that break the rules: leaves, shared keys, names and keys"),
        ("TreeHeadTest", "correctly signed lines that break the strict grammar"),
        ("TreeHeadTest", "freshness: heads checked against a clock ('now', milliseconds)")}),
    "reciprocity_note_v1_test.json": ("RECIPROCITY-NOTE-V1", {
        ("ReciprocityNoteTest", "valid notes"), ("ReciprocityNoteTest", "invalid notes"),
        ("ReciprocityNoteSealTest", "sealing by the writer, and notes too long to seal")}),
    "reciprocity_token_v1_test.json": ("RECIPROCITY-TOKEN-V1", {
        ("ReciprocityTokenTest", "valid derivations, each pair seen from both sides"),
        ("ReciprocityTokenTest", "invalid public keys"),
        ("ReciprocityTokenTest", "invalid names, roles and self-marks"),
        ("ReciprocityTokenTest", "invalid epochs, and handles ending in a line break")}),
    "x25519_rfc7748_test.json": ("X25519", {("XdhComp", "RFC 7748 section 6.1"), ("XdhComp", "RFC 7748 section 5.2")}),
    "reciprocity_backup_v1_test.json": ("RECIPROCITY-BACKUP-V1", {
        ("ReciprocityBackupImportTest", "backups that open"), ("ReciprocityBackupImportTest", "backups that are refused"),
        ("ReciprocityBackupExportTest", "writing backups"),
        ("ReciprocityBackupImportTest", "reading JSON (section 2.1): files that open"),
        ("ReciprocityBackupImportTest", "reading JSON (section 2.1): files that are refused"),
        ("ReciprocityBackupExportTest", "writing backups: the order of the checks, and what the passphrase's limits count")}),
    "reciprocity_messages_v1_test.json": ("RECIPROCITY-MESSAGES-V1", {
        ("ReciprocityConversationTest", "conversations"), ("ReciprocityConversationTest", "refusals")}),
}
# Folders of Specs/vectors/ that hold no vectors (the JSON Schemas the files name); any other entry that is
# not a listed *.json file fails the run.
EXPECTED_FOLDERS = {"schemas"}

# No favicon request: every resource the page asks for must exist, and a 404 fails the run.
BLANK_PAGE = b"<!doctype html><html lang=en><title>Reciprocity web tests</title><link rel=icon href=\"data:,\"></html>"


class StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves MOUNTS read-only, an empty page at /, and nothing else."""

    extensions_map = {".js": "text/javascript", ".json": "application/json", ".html": "text/html"}

    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in MOUNTS.items():
            if path.startswith(prefix):
                target = (folder / path[len(prefix):]).resolve()
                if target.is_relative_to(folder.resolve()):
                    return str(target)
        return str(HERE / "does-not-exist")

    def do_GET(self):
        if self.path == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(BLANK_PAGE)))
            self.end_headers()
            self.wfile.write(BLANK_PAGE)
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def vector_files():
    """Loads every *.json of Specs/vectors/ and the failures of the file/group gate."""
    problems, files = [], {}
    entries = sorted(VECTORS.iterdir())
    problems += [f"FAIL {p.name}/: unexpected folder in Specs/vectors/ (expected only {sorted(EXPECTED_FOLDERS)})"
                 for p in entries if p.is_dir() and p.name not in EXPECTED_FOLDERS]
    problems += [f"FAIL {p.name}: not a *.json vector file" for p in entries if not p.is_dir() and p.suffix != ".json"]
    present = [p.name for p in entries if p.is_file() and p.suffix == ".json"]
    missing_folders = [name for name in sorted(EXPECTED_FOLDERS) if not (VECTORS / name).is_dir()]
    problems += [f"FAIL {name}/: missing from Specs/vectors/" for name in missing_folders]
    for name in present:
        if name not in KNOWN:
            problems.append(f"FAIL {name}: unknown vector file (add it to KNOWN in {pathlib.Path(__file__).name})")
            continue
        text = (VECTORS / name).read_text(encoding="utf-8")
        data = json.loads(text)
        algorithm, groups = KNOWN[name]
        if data.get("algorithm") != algorithm:
            problems.append(f"FAIL {name}: algorithm {data.get('algorithm')!r}, expected {algorithm!r}")
            continue
        unknown = [(g.get("type"), g.get("comment")) for g in data["testGroups"]
                   if (g.get("type"), g.get("comment")) not in groups]
        if unknown:
            problems.append(f"FAIL {name}: unknown test group(s) {unknown}")
            continue
        count = sum(len(g["tests"]) for g in data["testGroups"])
        if count != data["numberOfTests"]:
            problems.append(f"FAIL {name}: numberOfTests says {data['numberOfTests']}, found {count}")
            continue
        files[name] = text
    problems += [f"FAIL {name}: listed in KNOWN but missing from Specs/vectors/" for name in KNOWN if name not in present]
    return files, problems


def report(label, results):
    failed = [r for r in results if not r["ok"]]
    print(f"{'ok  ' if not failed else 'FAIL'} {label}: {len(results)} tests, {len(failed)} failed")
    for r in failed:
        print(f"     {r['id']}: {r['reason']}")
    return len(results) - len(failed), len(failed)


def swift_cross_check(page, cli):
    """Vector files computed in the browser from random inputs, recomputed by the Swift CLI."""
    files = page.evaluate("async () => (await import('/test/cross_checks.js')).generate({pairs: 100, logs: 10})")
    expected = sum(data["numberOfTests"] for data in files.values())
    with tempfile.TemporaryDirectory(prefix="reciprocity-web-") as folder:
        for name, data in files.items():
            pathlib.Path(folder, name).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        run = subprocess.run([cli, "vectors", "verify", folder], cwd=ROOT, capture_output=True, text=True)
    lines = run.stdout.splitlines()
    shown = [line for line in lines[:-1] if not line.startswith("     tcId")]
    details = [line for line in lines[:-1] if line.startswith("     tcId")]
    for line in shown + details[:10] + ([f"     ... and {len(details) - 10} more"] if len(details) > 10 else []):
        print(f"     swift: {line}")
    summary = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1] if lines else "")
    passed, failed = (int(summary[1]), int(summary[2])) if summary else (0, 0)
    label = f"swift cross-check ({len(files)} files of random cases computed here, recomputed by {pathlib.Path(cli).name})"
    print(f"{'ok  ' if run.returncode == 0 and failed == 0 and passed == expected else 'FAIL'} {label}: "
          f"{expected} tests, {failed} failed")
    if run.returncode != 0 or passed + failed != expected:
        print(f"     the CLI exited {run.returncode} after {passed + failed} of {expected} cases: {run.stderr.strip()[:500]}")
        failed = max(failed, 1)
    return passed, failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium binary (default: Debian's)")
    parser.add_argument("--swift-cli", metavar="PATH",
                        help="the built Swift CLI `reciprocity`: it recomputes random cases computed here")
    args = parser.parse_args()
    started = time.monotonic()
    if not pathlib.Path(args.chromium).is_file():
        print(f"missing: {args.chromium}: Debian's Chromium (apt-get install chromium)", file=sys.stderr)
        return 1
    if args.swift_cli and not pathlib.Path(args.swift_cli).is_file():
        print(f"missing: {args.swift_cli}: build the Swift CLI first (swift build)", file=sys.stderr)
        return 1
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        passed, failed = check_all(browser, args.swift_cli)
        browser.close()
    print(f"web: {time.monotonic() - started:.1f} s in {args.chromium}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


def check_all(browser, swift_cli=None):
    """Every check in a new page of `browser`; prints one line per file and returns (passed, failed)."""
    files, problems = vector_files()
    rfc8439 = json.loads((HERE / "rfc8439_test.json").read_text(encoding="utf-8"))
    problems += [f"FAIL rfc8439_test.json: {p}" for p in map(rfc8439_openssl.check, rfc8439["tests"]) if p]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StaticHandler, directory=str(HERE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    passed = failed = 0
    page = browser.new_page()
    try:
        page_errors = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.on("console", lambda m: m.type == "error" and page_errors.append(m.text))
        page.goto(origin + "/")
        if not page.evaluate("isSecureContext && !!crypto.subtle"):
            raise SystemExit("the test page is not a secure context: crypto.subtle is missing")
        for name, text in files.items():
            # The file's text, parsed by the page's JSON.parse as a web client would (an epoch of 2^63 - 1
            # becomes an inexact Number there, and must still be refused).
            data = json.loads(text)
            results = page.evaluate(
                "async (text) => (await import('/test/vector_checks.js')).checkVectorFile(JSON.parse(text))", text)
            if len(results) != data["numberOfTests"]:
                problems.append(f"FAIL {name}: {len(results)} results for {data['numberOfTests']} tests")
            p, f = report(f"{name} ({data['algorithm']})", results)
            passed, failed = passed + p, failed + f
        results = page.evaluate(
            "async (data) => (await import('/test/vector_checks.js')).checkRfc8439(data)", rfc8439)
        p, f = report("rfc8439_test.json (ChaCha20, Poly1305, AEAD)", results)
        passed, failed = passed + p, failed + f
        results = page.evaluate("async () => (await import('/test/protocol_checks.js')).run()")
        p, f = report("protocol_checks.js (behaviour beyond the vectors)", results)
        passed, failed = passed + p, failed + f
        if swift_cli:
            p, f = swift_cross_check(page, str(pathlib.Path(swift_cli).resolve()))
            passed, failed = passed + p, failed + f
        problems += [f"FAIL page error: {e}" for e in page_errors]
    finally:
        page.close()
        server.shutdown()

    for problem in problems:
        print(problem)
    return passed, failed + len(problems)


if __name__ == "__main__":
    sys.exit(main())
