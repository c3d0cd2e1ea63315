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

One server for the module (nothing here changes it); each check is a test of its own:
`python3 -m pytest Tests/web/test_web_audit.py -k refresh`.
"""

import base64
import gzip
import hashlib
import http.client
import http.server
import subprocess
import threading
import time
import zlib

import brotli
import pytest
import zstandard
from playwright.sync_api import expect

from support import WEB, start_server

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
    def __init__(self, bin_dir, server, invite, browser):
        self.bin, self.server, self.browser = bin_dir, server, browser
        self.link_path = f"/join#program=acme&invite={invite}"

    def audit(self, proxy, *options):
        return subprocess.run([str(self.bin / "reciprocity"), "audit", "--web",
                               proxy.base + self.link_path, *options], capture_output=True, text=True, timeout=120)

    def audit_through(self, answer):
        """The audit through a proxy that answers with `answer` (see Proxy)."""
        proxy = Proxy(self.server.port, answer)
        try:
            return self.audit(proxy)
        finally:
            proxy.close()

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

        result = self.audit_through(compress)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "/web/app.js" in sent and "/join" in sent and len(sent) >= 10, sent

    def undecodable(self, coding, encode, reason="it came in the content coding"):
        def mangle(request, status, headers, body):
            if request[0] != "/web/app.js" or status != 200:
                return status, headers, body
            return status, headers + [("Content-Encoding", coding)], encode(body)

        result = self.audit_through(mangle)
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

        result = self.audit_through(add)
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
        result = subprocess.run([str(self.bin / "reciprocity"), "audit", "--web",
                                 f"http://127.0.0.1:{self.server.port}"], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0 and "matches this release" in result.stdout, result.stdout + result.stderr

    def header_only_to_the_browser_varies(self):
        """A header added only to requests that look like a browser's: the plain copy's headers differ."""
        def browser_only(request, status, headers, body):
            path, request_headers = request
            if status == 200 and path == "/web/app.js" and header(request_headers, "Sec-Fetch-Dest"):
                return status, headers + [("Set-Cookie", "x=1")], body
            return status, headers, body

        result = self.audit_through(browser_only)
        lines = result.stdout.splitlines()
        assert result.returncode == 1, lines
        assert "varies: /web/app.js is served differently to a browser's request than to a plain one" in lines, lines

    def tampering_proxy(self, selects):
        """Serves a modified app.js, and the page with its integrity, to the requests `selects` picks."""
        original = (WEB / "app.js").read_bytes()
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



@pytest.fixture(scope="module")
def suite(bin_dir, web_folder, served_as_source, browser, tmp_path_factory):
    server = start_server(bin_dir, tmp_path_factory.mktemp("web-audit"), web_folder)
    yield Suite(bin_dir, server, server.invite(), browser)
    server.stop()


def test_the_audits_request_for_each_file_is_chromiums(suite):
    suite.same_headers_as_chromium()


def test_by_default_chromiums_headers_and_order_with_the_current_chrome_as_identity(suite):
    suite.default_identity_differs_only_in_version_strings()


@pytest.mark.parametrize("coding", ENCODERS)
def test_answers_in_a_coding_are_decoded(suite, coding):
    suite.decodes(coding)


@pytest.mark.parametrize("coding, encode, reason", [
    pytest.param("x-unknown", lambda body: body, None, id="an unknown coding"),
    pytest.param("br", lambda body: gzip.compress(body), None, id="br that does not decode"),
    pytest.param("gzip", lambda body: gzip.compress(body)[:-9], None, id="gzip cut short"),
    pytest.param("deflate", lambda body: zlib.compress(body) + b"<script>", None, id="deflate with bytes after its end"),
    pytest.param("gzip, gzip, gzip", lambda body: gzip.compress(gzip.compress(gzip.compress(body))),
                 "it came in 3 content codings, more than the 2 this audit decodes", id="three content codings"),
    pytest.param("zstd", lambda body: zstandard.ZstdCompressor().compress(body)[:-9], None, id="zstd cut short"),
])
def test_an_answer_that_does_not_decode_fails_the_audit(suite, coding, encode, reason):
    suite.undecodable(coding, encode, *([reason] if reason else []))


def test_the_servers_own_headers_pass(suite):
    suite.real_server_headers_pass()


def test_refresh_on_the_page_fails_the_audit(suite):
    """Chromium leaves for an unaudited page."""
    suite.refresh_header_is_caught()


@pytest.mark.parametrize("name, value", [("Link", "</evil.js>; rel=modulepreload"), ("Set-Cookie", "session=attacker; Path=/"),
                                         ("Content-Disposition", "attachment"), ("Service-Worker-Allowed", "/"),
                                         ("Content-Security-Policy", "script-src *"), ("Alt-Svc", 'h3=":443"')])
def test_a_header_added_to_the_page_fails_the_audit(suite, name, value):
    suite.header_fails_the_audit(name, value)


@pytest.mark.parametrize("name, value", [("Content-Security-Policy", "default-src 'self' 'unsafe-inline'"),
                                         ("Content-Type", "text/plain")], ids=["a weaker CSP", "another Content-Type"])
def test_a_header_replaced_on_the_page_fails_the_audit(suite, name, value):
    suite.header_fails_the_audit(name, value, replace=True)


def test_a_header_served_only_to_the_browsers_request_fails_as_varies(suite):
    suite.header_only_to_the_browser_varies()


@pytest.mark.parametrize("selects, description", [
    pytest.param(lambda headers: header(headers, "Accept-Encoding") is not None, "Accept-Encoding",
                 id="requests carrying Accept-Encoding"),
    pytest.param(lambda headers: "Chrome/131.0.0.0" not in (header(headers, "User-Agent") or ""),
                 "every User-Agent but Chrome/131", id="all but the audit's former Chrome 131"),
])
def test_modified_code_served_by_a_selector_fails_the_audit(suite, selects, description):
    suite.selector_fails_the_audit(selects, description)


def test_no_header_chromium_sends_selects_the_browser_over_the_audit(suite):
    suite.every_header_chromium_sends_is_no_selector()
