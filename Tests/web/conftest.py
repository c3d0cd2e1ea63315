"""The fixtures of the web tests: the executables (copied once per session), Debian's headless Chromium (one per
session), a real `reciprocityd serve` over a fresh SQLite file for each test (so that a test may stop it, change
the program's epoch or rewrite its key log without touching another test), the CLI, and browser members made
fresh by each test that needs them. Any single test therefore runs alone:
`python3 -m pytest Tests/web/test_integrity.py::test_one_sided_mark_shows_nothing_and_names_no_target`.

Options: --chromium PATH (default /usr/bin/chromium), --bin DIR (default .build/debug), --web-folder DIR (serve
that folder's web files instead of the built-in ones, e.g. the source folder without a rebuild, or an older
version of them; the check that the built-in files are the source folder's is then skipped), --docs (also copy
the main screenshots to docs/screenshots/).
"""

import shutil

import pytest
from playwright.sync_api import sync_playwright

from support import (ADMIN_CREDENTIAL, CLI, DOCS_SHOT_NAMES, DOCS_SHOTS, INSECURE_HOST, ROOT, SHOTS, WEB, Member,
                     same_origin_requests, snapshot_binaries, stale_assets, start_server)


def pytest_addoption(parser):
    parser.addoption("--chromium", default="/usr/bin/chromium", help="the Chromium binary (default: Debian's)")
    parser.addoption("--bin", default=str(ROOT / ".build" / "debug"), help="where reciprocityd and reciprocity are")
    parser.addoption("--web-folder", default=None,
                     help="serve the web app from this folder (e.g. the source folder, no rebuild; or an older version)")
    parser.addoption("--docs", action="store_true", help="also copy the main screenshots to docs/screenshots/")


def pytest_sessionfinish(session):
    if session.config.getoption("--docs", default=False):
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        for name in DOCS_SHOT_NAMES:
            if (SHOTS / f"{name}.png").exists():
                shutil.copy(SHOTS / f"{name}.png", DOCS_SHOTS / f"{name}.png")


@pytest.fixture(scope="session")
def bin_dir(pytestconfig, tmp_path_factory):
    return snapshot_binaries(pytestconfig.getoption("--bin"), tmp_path_factory.mktemp("bin") / "bin")


@pytest.fixture(scope="session")
def web_folder(pytestconfig):
    return pytestconfig.getoption("--web-folder")


@pytest.fixture(scope="session")
def browser(pytestconfig):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=pytestconfig.getoption("--chromium"),
                                             args=["--no-sandbox", f"--host-resolver-rules=MAP {INSECURE_HOST} 127.0.0.1"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def served_as_source(bin_dir, web_folder, tmp_path_factory):
    """Stops the session when the server serves other web files than the source folder: the tests would test
    an older build."""
    if web_folder:
        return
    server = start_server(bin_dir, tmp_path_factory.mktemp("assets"), None)
    try:
        stale = stale_assets(server)
    finally:
        server.stop()
    if stale:
        pytest.exit(f"the server serves other web files than {WEB.relative_to(ROOT)} ({', '.join(stale)}): "
                    "run 'swift build' first, or pass --web-folder", returncode=1)


@pytest.fixture
def server(bin_dir, web_folder, served_as_source, tmp_path):
    """A server of this test's own, with the program acme (at most 8 marks each)."""
    server = start_server(bin_dir, tmp_path, web_folder)
    yield server
    server.stop()


@pytest.fixture
def console_server(bin_dir, web_folder, served_as_source, tmp_path):
    """A server of this test's own with its admin API on (credential ADMIN_CREDENTIAL) and the program acme."""
    server = start_server(bin_dir, tmp_path, web_folder, admin_credential=ADMIN_CREDENTIAL)
    yield server
    server.stop()


@pytest.fixture
def invite(server):
    return server.invite(50)


@pytest.fixture
def cli(bin_dir, server):
    """cli(home) -> the CLI as a member with its own RECIPROCITY_HOME under this test's folder."""
    return lambda home="cli-home": CLI(bin_dir, server.folder, server, home=home)


@pytest.fixture
def cli_member(cli, invite):
    """cli_member(handle, display_name) -> a member who joined with the CLI (tag swift): quicker than a browser
    for members a test only needs to exist, to be marked or to hold a handle."""
    return lambda handle, display_name: cli(f"cli-{handle}").join(invite, handle, "--display-name", display_name,
                                                                  "--tag", "swift")


@pytest.fixture
def members(browser, server):
    """members(handle, viewport=None, touch=False, locale=None, timezone=None) -> a fresh browser member (not yet
    joined; `touch`: a phone; `locale` and `timezone` the browser's, e.g. "en-GB" and "Europe/Berlin"). When the test
    ends, every request of every such page must have been same-origin and none may have asked the server's directory."""
    made = []

    def make(handle, viewport=None, touch=False, locale=None, timezone=None):
        made.append(Member(browser, server, handle, viewport, touch, locale, timezone))
        return made[-1]

    yield make
    for member in made:
        member.close()
    same_origin_requests(made, server.base)


@pytest.fixture
def alice_and_bob(members, invite):
    """Two members who joined from an invite link: alice seeks mentoring, bob offers it."""
    alice = members("alice").join(invite, "Alice Liddell", "Learning Swift on servers", ["swift", "linux"], seeks=True)
    bob = members("bob").join(invite, "Bob Marley", "Twenty years of backend work", ["swift", "linux", "sql"], offers=True)
    return alice, bob
