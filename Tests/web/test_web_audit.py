#!/usr/bin/env python3
"""`reciprocity audit --web` cannot be told apart from Chromium by its requests: a real `reciprocityd serve`
behind a recording HTTP/1.1 proxy on loopback, Debian's headless Chromium (Playwright) loading the join link
through it, and the real CLI auditing the same link through it.

Checks: per file, the audit's request carries exactly the header list Chromium's does (names, values, order;
with the options that copy Chromium's User-Agent and client hints), and the audit asks for the page's files
before anything a browser would not; answers in gzip, deflate, br and zstd are decoded and pass; an answer in
a coding the audit cannot decode fails it; a proxy that serves modified code (with matching Subresource
Integrity in the page) only to requests carrying one of the headers Chromium sends, or only to a User-Agent
other than the audit's former fixed one, makes Chromium run the modified code and the audit fail; more than
two content codings fail it. The response headers: the server's own pass; byte-identical files with a
`Refresh` header (Chromium follows it to an unaudited page), `Link`, `Set-Cookie`, `Content-Disposition`,
`Service-Worker-Allowed`, `Alt-Svc`, a second or a weaker Content-Security-Policy, another Content-Type, or a
header served only to the browser's request fail the audit.

Prints one line per check, then `N passed, M failed`; exits 1 on any failure.

Usage: Tests/web/test_web_audit.py [--chromium /usr/bin/chromium] [--bin .build/debug]
"""

import argparse
import base64
import gzip
import hashlib
import http.client
import http.server
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import brotli
import zstandard
from playwright.sync_api import sync_playwright, expect

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_app import ROOT, Checks, Server, snapshot_binaries  # noqa: E402

# Connection-level headers the proxy does not pass on: it sets its own framing.
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}
ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,  # HTTP's "deflate" is the zlib format
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def as_is(request, status, headers, body):
    return status, headers, body


class Proxy:
    """An HTTP/1.1 reverse proxy on 127.0.0.1:<free port> in front of the server: records every request as
    received (path, and its header list with names, values and order), asks the server for the file without
    any coding, and answers with what `answer(request, status, headers, body)` returns."""

    def __init__(self, upstream_port, answer=as_is):
        self.requests = []
        self.answer = answer
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *arguments):
                pass

            def do_GET(self):
                request = (self.path, list(self.headers.items()))
                with lock:
                    proxy.requests.append(request)
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                upstream.request("GET", self.path)
                response = upstream.getresponse()
                body = response.read()
                upstream.close()
                headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP]
                status, headers, body = proxy.answer(request, response.status, headers, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        taken, self.requests = self.requests, []
        return taken

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def header(headers, name):
    return next((v for k, v in headers if k.lower() == name.lower()), None)


def first_by_path(requests):
    first = {}
    for path, headers in requests:
        first.setdefault(path, headers)
    return first


def sri(data):
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def load(browser, link):
    """Opens `link` in a fresh Chromium context and waits until the app has loaded (the icon comes last)."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    expect(page.locator("#join-form")).to_be_visible()
    page.wait_for_load_state("load")
    return context, page


class Suite:
    def __init__(self, args, server, invite, browser):
        self.args, self.server, self.browser = args, server, browser
        self.link_path = f"/join#program=acme&invite={invite}"

    def audit(self, proxy, *options):
        return subprocess.run([str(pathlib.Path(self.args.bin) / "reciprocity"), "audit", "--web",
                               proxy.base + self.link_path, *options], capture_output=True, text=True, timeout=120)

    def chromium_requests(self, proxy):
        context, _ = load(self.browser, proxy.base + self.link_path)
        for _ in range(100):  # the icon is asked for after the load event
            if any(path == "/web/icon.svg" for path, _ in proxy.requests):
                break
            time.sleep(0.05)
        context.close()
        return proxy.take()

    def same_headers_as_chromium(self):
        proxy = Proxy(self.server.port)
        try:
            chromium = self.chromium_requests(proxy)
            document = chromium[0][1]
            copy = ["--user-agent", header(document, "User-Agent"), "--sec-ch-ua", header(document, "sec-ch-ua"),
                    "--sec-ch-ua-platform", header(document, "sec-ch-ua-platform"),
                    "--sec-ch-ua-mobile", header(document, "sec-ch-ua-mobile"),
                    "--accept-language", header(document, "Accept-Language")]
            result = self.audit(proxy, *copy)
            assert result.returncode == 0, result.stdout + result.stderr
            audit = proxy.take()
        finally:
            proxy.close()
        browser_files, audit_files = first_by_path(chromium), first_by_path(audit)
        assert len(browser_files) >= 8, list(browser_files)  # the page, the stylesheet, 5 modules, the icon
        for path, headers in browser_files.items():
            assert audit_files.get(path) == headers, \
                f"{path}:\n  Chromium: {headers}\n  audit:    {audit_files.get(path)}"
        # The link first, and every file the page loads before anything a browser would not ask for.
        paths = [path for path, _ in audit]
        assert paths[0] == "/join", paths
        assert set(browser_files) <= set(paths[:paths.index("/web-manifest.json")]), paths
        print(f"    {len(browser_files)} files, header lists identical: {', '.join(browser_files)}")

    def default_identity_differs_only_in_version_strings(self):
        """Without the options: Chromium's header names in Chromium's order; values other than the browser's
        identity (User-Agent, sec-ch-ua) identical."""
        proxy = Proxy(self.server.port)
        try:
            chromium = first_by_path(self.chromium_requests(proxy))
            result = self.audit(proxy)
            assert result.returncode == 0, result.stdout + result.stderr
            audit = first_by_path(proxy.take())
        finally:
            proxy.close()
        for path, headers in chromium.items():
            assert [k for k, _ in audit[path]] == [k for k, _ in headers], (path, audit[path], headers)
            for (name, value), (_, ours) in zip(headers, audit[path]):
                if name.lower() not in ("user-agent", "sec-ch-ua"):
                    assert value == ours, (path, name, value, ours)
        agent = header(audit["/join"], "User-Agent")
        assert " Chrome/" in agent and "HeadlessChrome" not in agent, agent
        assert '"Google Chrome";v="' in header(audit["/join"], "sec-ch-ua")

    def decodes(self, coding):
        sent = []

        def compress(request, status, headers, body):
            path, request_headers = request
            if status != 200 or coding not in (header(request_headers, "Accept-Encoding") or ""):
                return status, headers, body
            sent.append(path)
            return status, headers + [("Content-Encoding", coding)], ENCODERS[coding](body)

        proxy = Proxy(self.server.port, compress)
        try:
            result = self.audit(proxy)
        finally:
            proxy.close()
        assert result.returncode == 0, result.stdout + result.stderr
        assert "/web/app.js" in sent and "/join" in sent and len(sent) >= 10, sent

    def undecodable(self, coding, encode, reason="it came in the content coding"):
        def mangle(request, status, headers, body):
            if request[0] != "/web/app.js" or status != 200:
                return status, headers, body
            return status, headers + [("Content-Encoding", coding)], encode(body)

        proxy = Proxy(self.server.port, mangle)
        try:
            result = self.audit(proxy)
        finally:
            proxy.close()
        assert result.returncode == 1, result.stdout + result.stderr
        lines = result.stdout.splitlines()
        assert any(line.startswith("undecodable: /web/app.js: " + reason) for line in lines), lines
        assert len(result.stderr.splitlines()) == 1 and "differs from this release" in result.stderr, result.stderr

    def header_fails_the_audit(self, name, value, paths=("/", "/join"), replace=False):
        """A proxy that passes every byte on and adds `name: value` to the answers for `paths` (or, with
        `replace`, puts it in place of the server's own `name`): Chromium gets the same code, the audit fails
        with a `headers:` line for each page."""
        def add(request, status, headers, body):
            if status != 200 or request[0] not in paths:
                return status, headers, body
            kept = [(k, v) for k, v in headers if not (replace and k.lower() == name.lower())]
            return status, kept + [(name, value)], body

        proxy = Proxy(self.server.port, add)
        try:
            result = self.audit(proxy)
        finally:
            proxy.close()
        assert result.returncode == 1, f"the audit passed {name}: {value}: {result.stdout}{result.stderr}"
        lines = result.stdout.splitlines()
        assert any(line.startswith(f"headers: /join has {name}") for line in lines), lines
        assert all(line.startswith("headers: /join ") for line in lines), lines
        assert len(result.stderr.splitlines()) == 1 and "differs from this release" in result.stderr, result.stderr

    def refresh_header_is_caught(self):
        """The attack: byte-identical files plus `Refresh: 0; url=/evil` on the page; Chromium leaves the
        audited page for an unaudited one on the same origin."""
        evil = b"<!doctype html><title>evil</title><p id=evil>same origin, not audited</p>"

        def refresh(request, status, headers, body):
            if request[0] == "/evil":
                return 200, [("Content-Type", "text/html")], evil
            if status == 200 and request[0] in ("/", "/join"):
                return status, headers + [("Refresh", "0; url=/evil")], body
            return status, headers, body

        proxy = Proxy(self.server.port, refresh)
        try:
            context = self.browser.new_context()
            page = context.new_page()
            page.goto(proxy.base + self.link_path)
            page.wait_for_url("**/evil", timeout=10000)
            context.close()
            result = self.audit(proxy)
        finally:
            proxy.close()
        assert result.returncode == 1, result.stdout + result.stderr
        assert "headers: /join has Refresh '0; url=/evil', a header this release's server does not send" \
            in result.stdout.splitlines(), result.stdout

    def real_server_headers_pass(self):
        """Straight to the server: its headers are the ones the audit requires (the proxy checks pass the
        server's headers on, so this is the one check without a proxy)."""
        result = subprocess.run([str(pathlib.Path(self.args.bin) / "reciprocity"), "audit", "--web",
                                 f"http://127.0.0.1:{self.server.port}"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "matches this release" in result.stdout, result.stdout + result.stderr

    def header_only_to_the_browser_varies(self):
        """A header added only to requests that look like a browser's: the plain copy's headers differ."""
        def browser_only(request, status, headers, body):
            path, request_headers = request
            if status == 200 and path == "/web/app.js" and header(request_headers, "Sec-Fetch-Dest"):
                return status, headers + [("Set-Cookie", "x=1")], body
            return status, headers, body

        proxy = Proxy(self.server.port, browser_only)
        try:
            result = self.audit(proxy)
        finally:
            proxy.close()
        lines = result.stdout.splitlines()
        assert result.returncode == 1, lines
        assert "varies: /web/app.js is served differently to a browser's request than to a plain one" in lines, lines

    def tampering_proxy(self, selects):
        """Serves a modified app.js, and the page with its integrity, to the requests `selects` picks."""
        original = (ROOT / "Sources" / "ReciprocityWeb" / "web" / "app.js").read_bytes()
        modified = original + b"\nglobalThis.tampered = true;\n"

        def tamper(request, status, headers, body):
            path, request_headers = request
            if status != 200 or not selects(request_headers):
                return status, headers, body
            if path == "/web/app.js":
                return status, headers, modified
            if path in ("/", "/join", "/web/index.html"):
                return status, headers, body.replace(sri(original).encode(), sri(modified).encode())
            return status, headers, body

        return Proxy(self.server.port, tamper)

    def selector_fails_the_audit(self, selects, description):
        proxy = self.tampering_proxy(selects)
        try:
            context, page = load(self.browser, proxy.base + self.link_path)
            ran = page.evaluate("globalThis.tampered === true")
            context.close()
            result = self.audit(proxy)
        finally:
            proxy.close()
        assert ran, f"Chromium did not run the modified code ({description})"
        assert result.returncode == 1, f"the audit passed a proxy that tampers with {description}: {result.stdout}"
        assert any(line.startswith("changed: /web/app.js ") for line in result.stdout.splitlines()), result.stdout

    def every_header_chromium_sends_is_no_selector(self):
        proxy = Proxy(self.server.port)
        try:
            requests = self.chromium_requests(proxy)
        finally:
            proxy.close()
        page = first_by_path(requests)["/join"]
        module = first_by_path(requests)["/web/app.js"]
        # A header on both the page and its module: a proxy keyed on it can serve both modified.
        names = [name for name, _ in module if header(page, name) is not None and name.lower() != "host"]
        assert "Accept-Encoding" in names and "Connection" in names, names
        for name in names:
            self.selector_fails_the_audit(lambda headers, name=name: header(headers, name) is not None,
                                          f"requests carrying {name}")
        print(f"    {len(names)} headers: {', '.join(names)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bin", default=str(ROOT / ".build" / "debug"))
    args = parser.parse_args()
    checks = Checks()
    folder = tempfile.mkdtemp(prefix="reciprocity-web-audit-")
    args.bin = snapshot_binaries(args.bin, pathlib.Path(folder) / "bin")
    server = Server(args.bin, folder)
    server.admin("program", "create", "acme")
    invite = server.invite()
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            suite = Suite(args, server, invite, browser)
            checks.run("the audit's request for each file is Chromium's, header for header",
                       suite.same_headers_as_chromium)
            checks.run("by default: Chromium's headers and order, the current Chrome as identity",
                       suite.default_identity_differs_only_in_version_strings)
            for coding in ENCODERS:
                checks.run(f"answers in {coding} are decoded", lambda coding=coding: suite.decodes(coding))
            checks.run("an answer in an unknown coding fails the audit",
                       lambda: suite.undecodable("x-unknown", lambda body: body))
            checks.run("a br answer that does not decode fails the audit",
                       lambda: suite.undecodable("br", lambda body: gzip.compress(body)))
            checks.run("a gzip answer cut short fails the audit",
                       lambda: suite.undecodable("gzip", lambda body: gzip.compress(body)[:-9]))
            checks.run("a deflate answer with bytes after its end fails the audit",
                       lambda: suite.undecodable("deflate", lambda body: zlib.compress(body) + b"<script>"))
            checks.run("three content codings fail the audit",
                       lambda: suite.undecodable("gzip, gzip, gzip",
                                                 lambda body: gzip.compress(gzip.compress(gzip.compress(body))),
                                                 "it came in 3 content codings, more than the 2 this audit decodes"))
            checks.run("a zstd answer cut short fails the audit",
                       lambda: suite.undecodable("zstd", lambda body: zstandard.ZstdCompressor().compress(body)[:-9]))
            checks.run("the server's own headers pass", suite.real_server_headers_pass)
            checks.run("Refresh on the page (Chromium leaves for an unaudited page) fails the audit",
                       suite.refresh_header_is_caught)
            for name, value in [("Link", "</evil.js>; rel=modulepreload"), ("Set-Cookie", "session=attacker; Path=/"),
                                ("Content-Disposition", "attachment"), ("Service-Worker-Allowed", "/"),
                                ("Content-Security-Policy", "script-src *"), ("Alt-Svc", 'h3=":443"')]:
                checks.run(f"{name} added to the page fails the audit",
                           lambda name=name, value=value: suite.header_fails_the_audit(name, value))
            checks.run("a weaker Content-Security-Policy fails the audit",
                       lambda: suite.header_fails_the_audit(
                           "Content-Security-Policy", "default-src 'self' 'unsafe-inline'", replace=True))
            checks.run("another Content-Type on the page fails the audit",
                       lambda: suite.header_fails_the_audit("Content-Type", "text/plain", replace=True))
            checks.run("a header served only to the browser's request fails the audit as varies",
                       suite.header_only_to_the_browser_varies)
            checks.run("modified code served only to requests carrying Accept-Encoding fails the audit",
                       lambda: suite.selector_fails_the_audit(
                           lambda headers: header(headers, "Accept-Encoding") is not None, "Accept-Encoding"))
            checks.run("modified code served to all but the audit's former Chrome 131 fails the audit",
                       lambda: suite.selector_fails_the_audit(
                           lambda headers: "Chrome/131.0.0.0" not in (header(headers, "User-Agent") or ""),
                           "every User-Agent but Chrome/131"))
            checks.run("no header Chromium sends selects the browser over the audit",
                       suite.every_header_chromium_sends_is_no_selector)
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
