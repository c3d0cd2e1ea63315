"""Email notices against a real SMTP relay: aiosmtpd on a loopback port with STARTTLS required (a self-signed
certificate made here with `cryptography`, given to reciprocityd as its CA file) and AUTH, and a real
`reciprocityd serve` whose notifier sends through libcurl. Members are the real CLI.

Run alone: `python3 -m pytest Tests/email -p no:cacheprovider -rfE` (after `swift build`).
"""

import asyncio
import datetime
import email
import email.policy
import ipaddress
import json
import os
import pathlib
import re
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "web"))
from support import CLI, ROOT, free_port, run, snapshot_binaries, start_server  # noqa: E402

import ssl  # noqa: E402

FROM = "notices@reciprocity.test"
USER, PASSWORD = "reciprocity", "relay-secret-9f3a"
ADMIN = "a" * 40


@pytest.fixture(scope="session")
def bin_dir(tmp_path_factory):
    return snapshot_binaries(ROOT / ".build" / "debug", tmp_path_factory.mktemp("bin") / "bin")


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for localhost and 127.0.0.1: (certificate file, key file)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (folder / "relay.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "relay.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return folder / "relay.pem", folder / "relay.key"


class Relay:
    """aiosmtpd requiring STARTTLS and AUTH; keeps every message it accepted (recipients, parsed message)."""

    def __init__(self, certificate):
        self.port = free_port()
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(*map(str, certificate))
        self.messages = []
        self.lock = threading.Lock()
        self.controller = None
        # `hold("keep")` or `hold("drop")`: the next DATA waits in the relay (`held` is set) until `release` is
        # set, having kept the message or not, so that a test can kill the sender mid-transaction.
        self.holding = None
        self.held = threading.Event()
        self.release = threading.Event()

    def hold(self, mode):
        self.holding = mode

    async def handle_DATA(self, server, session, envelope):
        mode, self.holding = self.holding, None
        if mode != "drop":
            with self.lock:
                self.messages.append((list(envelope.rcpt_tos),
                                      email.message_from_bytes(envelope.original_content, policy=email.policy.SMTP)))
        if mode:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "250 OK" if mode == "keep" else "451 Aborted"
        return "250 OK"

    @staticmethod
    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode())

    def start(self, tls=True):
        """With `tls`, STARTTLS and AUTH are required; without, the relay offers neither (a relay in clear)."""
        secured = dict(tls_context=self.context, require_starttls=True, auth_required=True, auth_require_tls=True,
                       authenticator=self.authenticate) if tls else {}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, server_hostname="localhost",
                                     **secured)
        self.controller.start()

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def received(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, count, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if len(self.received()) >= count:
                return self.received()
            time.sleep(0.2)
        raise AssertionError(f"{len(self.received())} messages arrived, expected {count}")


@pytest.fixture
def relay(certificate):
    relay = Relay(certificate)
    yield relay
    relay.stop()


@pytest.fixture
def server(bin_dir, tmp_path, relay, certificate):
    """A server over a fresh database whose notices go to `relay` (started by each test when it wants it)."""
    (tmp_path / "smtp-password").write_text(PASSWORD + "\n")
    (tmp_path / "admin").write_text(ADMIN)
    os.chmod(tmp_path / "smtp-password", 0o600)
    server = start_server(bin_dir, tmp_path)
    server.stop()
    server.options = ["--smtp-url", f"smtp://localhost:{relay.port}", "--smtp-username", USER,
                      "--smtp-password-file", str(tmp_path / "smtp-password"), "--smtp-from", FROM,
                      "--smtp-ca-file", str(certificate[0]), "--smtp-timeout", "5", "--notice-interval", "1",
                      "--notice-spread", "0", "--notices-per-minute", "6000",
                      "--admin-credential-file", str(tmp_path / "admin"), "--log-level", "info"]
    server.start(*server.options)
    yield server
    server.stop()


def member(bin_dir, tmp_path, server, invite, handle, display, *profile, email_address=None):
    cli = CLI(bin_dir, tmp_path, server, home=f"home-{handle}").join(invite, handle, "--display-name", display,
                                                                      *profile)
    if email_address:
        assert "operator" in cli.run("email", "set", email_address)
    return cli


def admin_post(server, path, body):
    request = urllib.request.Request(server.base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def admin_put(server, path, body):
    request = urllib.request.Request(server.base + path, data=json.dumps(body).encode(), method="PUT",
                                     headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


def admin_delete(server, path):
    request = urllib.request.Request(server.base + path, method="DELETE", headers={"Authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.load(response)


def test_a_round_closing_notice_reaches_each_member_with_an_address_once(bin_dir, tmp_path, server, relay):
    relay.start()
    invite = server.invite()
    alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice Example", email_address="alice@example.test")
    member(bin_dir, tmp_path, server, invite, "bob", "Bob Example", email_address="bob@example.test")
    carol = member(bin_dir, tmp_path, server, invite, "carol", "Carol Example")
    # An unreciprocated mark changes nothing: everyone with an address is told, whatever their marks.
    carol.run("interest", "add", "alice", "--as", "mentor")
    closes = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(hours=3)
    status, program = admin_put(server, "/v1/admin/programs/acme/next-round", {"at": closes.isoformat()})
    assert status == 200 and program["nextRoundAt"] == closes.strftime("%Y-%m-%dT%H:%M:%SZ"), program
    messages = relay.wait_for(2)
    # Once: neither a later pass nor a restart queues it again.
    time.sleep(3)
    server.stop()
    server.start(*server.options)
    time.sleep(4)
    assert len(relay.received()) == 2, [m["Subject"] for _, m in relay.received()]
    # Once per round: moving the time, again and again or by cancelling first, mails no one again (each change
    # stays long enough for the notifier's pass, once a second here, to see it).
    for hours in [2, 4, None, 0]:
        if hours is None:
            assert admin_delete(server, "/v1/admin/programs/acme/next-round")[0] == 200
        else:
            at = (closes + datetime.timedelta(hours=hours)).isoformat()
            assert admin_put(server, "/v1/admin/programs/acme/next-round", {"at": at})[0] == 200
        time.sleep(2)
    assert len(relay.received()) == 2, [m["Subject"] for _, m in relay.received()]
    assert sorted(r for rcpts, _ in messages for r in rcpts) == ["alice@example.test", "bob@example.test"]
    for rcpts, message in messages:
        assert message["Subject"] == "The current round of acme closes soon"
        content = message.get_content()
        assert f"The current round of acme closes at {closes.strftime('%a %-d %b %Y, %H:%M')} UTC." in content
        assert "pending interests are cleared" in content
        text = message.as_string().replace(rcpts[0], "")
        for secret in ["alice", "bob", "carol", "Alice", "Bob", "Carol", "mentor"]:
            assert secret not in text, f"the notice to {rcpts[0]} says '{secret}'"
    assert server.rows("SELECT kind, state, count(*) FROM notice GROUP BY kind, state") == [
        ("round-closing", "sent", 2)]
    assert "alice@example.test" in alice.run("email", "show")


def test_a_match_notice_reaches_each_member_who_opted_in_and_names_no_one(bin_dir, tmp_path, server, relay):
    relay.start()
    invite = server.invite()
    alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice Example", "--headline", "Learning Swift",
                   email_address="alice@example.test")
    bob = member(bin_dir, tmp_path, server, invite, "bob", "Bob Example", email_address="bob@example.test")
    carol = member(bin_dir, tmp_path, server, invite, "carol", "Carol Example")
    # Each member's own answer has their address; another member's directory never does.
    assert "alice@example.test" in alice.run("email", "show")
    assert "no email address" in carol.run("email", "show")
    assert "alice@example.test" not in bob.run("directory", "--json")
    # carol's unreciprocated mark of alice, and alice's of carol... only alice and bob match.
    carol.run("interest", "add", "alice", "--as", "mentor", "--note", "Carol's secret note")
    alice.run("interest", "add", "bob", "--as", "mentor", "--note", "Alice's note to Bob")
    bob.run("interest", "add", "alice", "--as", "mentee", "--note", "Bob's note to Alice")
    messages = relay.wait_for(2)
    time.sleep(4)
    assert len(relay.received()) == 2, "one notice per member of the match, nothing for an unreciprocated mark"
    assert sorted(rcpt for rcpts, _ in messages for rcpt in rcpts) == ["alice@example.test", "bob@example.test"]
    ids = set()
    for rcpts, message in messages:
        assert (str(message["From"]), str(message["To"])) == (FROM, rcpts[0])
        assert message["Subject"] == "You have a new match in acme"
        assert message["Date"] and email.utils.parsedate_to_datetime(message["Date"])
        # A random Message-ID (a UUID), never the notice's row id, which counts every notice the server queued.
        assert re.fullmatch(r"<notice-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}@reciprocity\.test>",
                            message["Message-ID"]), message["Message-ID"]
        ids.add(message["Message-ID"])
        text = message.as_string()
        assert "You have a new match in acme. Open the app to see it." in message.get_content()
        for secret in ["alice", "bob", "carol", "Alice Example", "Bob Example", "Carol", "note", "mentor",
                       "mentee", "Learning Swift"]:
            assert secret not in text.replace(rcpts[0], ""), f"the notice to {rcpts[0]} says '{secret}'"
    assert len(ids) == 2
    # The log names notices by row id, never by address.
    log = (tmp_path / "server.log").read_text()
    assert "notice sent" in log and "example.test" not in log and PASSWORD not in log


def test_a_relay_outage_delays_notices_and_a_kill_9_neither_loses_nor_repeats_one(bin_dir, tmp_path, server, relay):
    invite = server.invite()
    alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice", email_address="alice@example.test")
    bob = member(bin_dir, tmp_path, server, invite, "bob", "Bob", email_address="bob@example.test")
    alice.run("interest", "add", "bob", "--as", "peer")
    bob.run("interest", "add", "alice", "--as", "peer")
    # The relay is down: both notices are queued and fail at least once.
    deadline = time.time() + 30
    while time.time() < deadline:
        attempts = server.rows("SELECT count(*) FROM notice WHERE attempts >= 1 AND state = 'queued'")[0][0]
        if attempts == 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the notices were not retried: {server.rows('SELECT * FROM notice')}")
    assert relay.received() == []
    log = (tmp_path / "server.log").read_text()
    assert "will retry" in log and "example.test" not in log
    # kill -9 with the notices queued, then a restart and the relay back.
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    server.process = None
    relay.start()
    server.start(*server.options)
    messages = relay.wait_for(2, timeout=90)
    time.sleep(5)
    assert len(relay.received()) == 2, [m["Message-ID"] for _, m in relay.received()]
    assert sorted(r for rcpts, _ in messages for r in rcpts) == ["alice@example.test", "bob@example.test"]
    assert server.rows("SELECT state, count(*) FROM notice GROUP BY state") == [("sent", 2)]


@pytest.mark.parametrize("relay_kept_it", [False, True], ids=["before-data-accepted", "after-data-accepted"])
def test_a_kill_9_while_a_notice_is_in_flight_never_loses_it(bin_dir, tmp_path, server, relay, relay_kept_it):
    """The rule for the one notice in flight (docs/operations.md): at least once. Killed before the relay kept
    the message, it is sent once after the restart; killed after the relay kept it but before the notice was
    marked sent, it is sent again: a duplicate with the same Message-ID, never a loss."""
    relay.hold("keep" if relay_kept_it else "drop")
    relay.start()
    invite = server.invite()
    alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice", email_address="alice@example.test")
    bob = member(bin_dir, tmp_path, server, invite, "bob", "Bob")
    alice.run("interest", "add", "bob", "--as", "peer")
    bob.run("interest", "add", "alice", "--as", "peer")
    assert relay.held.wait(30), "the notice never reached DATA"
    assert server.rows("SELECT state FROM notice") == [("sending",)]
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    server.process = None
    relay.release.set()
    assert len(relay.received()) == (1 if relay_kept_it else 0)
    server.start(*server.options)
    # The claim's lease (2 x --smtp-timeout + 5 = 15 seconds) passes, then the notice goes again.
    messages = relay.wait_for(2 if relay_kept_it else 1, timeout=90)
    time.sleep(4)
    assert len(relay.received()) == len(messages)
    assert {rcpts[0] for rcpts, _ in messages} == {"alice@example.test"}
    assert len({message["Message-ID"] for _, message in messages}) == 1, "a resend keeps its Message-ID"
    assert server.rows("SELECT state, count(*) FROM notice GROUP BY state") == [("sent", 1)]


def test_the_reminder_reaches_only_members_with_an_incomplete_profile_and_an_address(bin_dir, tmp_path, server, relay):
    relay.start()
    invite = server.invite()
    member(bin_dir, tmp_path, server, invite, "dave", "Dave", "--headline", "Rust mentor", "--tag", "rust",
           "--offers-mentoring", email_address="dave@example.test")
    member(bin_dir, tmp_path, server, invite, "erin", "Erin", email_address="erin@example.test")
    member(bin_dir, tmp_path, server, invite, "frank", "Frank")
    status, answer = admin_post(server, "/v1/admin/programs/acme/reminders", {"kind": "complete-profile"})
    assert (status, answer) == (202, {"kind": "complete-profile", "queued": 1})
    messages = relay.wait_for(1)
    time.sleep(3)
    assert len(relay.received()) == 1
    rcpts, message = messages[0]
    assert rcpts == ["erin@example.test"] and message["Subject"] == "Complete your profile in acme"
    assert "Erin" not in message.as_string()
    # Audited with the count only.
    assert server.rows("SELECT actor, action, subject, detail FROM audit_entry WHERE action = 'reminder-sent'") == [
        ("operator", "reminder-sent", "complete-profile", "1")]
    status, answer = admin_post(server, "/v1/admin/programs/acme/reminders", {"kind": "birthday"})
    assert status == 400 and answer["type"].endswith(":invalid-argument")
    # One a day per kind: a second is refused, and neither queued nor audited.
    status, answer = admin_post(server, "/v1/admin/programs/acme/reminders", {"kind": "complete-profile"})
    assert status == 429 and answer["type"].endswith(":reminder-limited"), answer
    assert server.rows("SELECT count(*) FROM audit_entry WHERE action = 'reminder-sent'") == [(1,)]
    assert server.rows("SELECT count(*) FROM notice") == [(1,)]


def test_an_address_is_checked_changed_and_removed_with_its_queued_notices(bin_dir, tmp_path, server, relay):
    invite = server.invite()
    alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice")
    for bad in ["no-at-sign", "two@@example.test", "a b@example.test", "x@", "@x", "a\u0007@example.test",
                "a" * 250 + "@example.test"]:
        result = run(alice.bin / "reciprocity", "email", "set", bad, home=alice.home, check=False)
        assert result.returncode != 0 and "email address" in result.stderr and "\n" not in result.stderr.strip()
    assert "alice@new.test" in alice.run("email", "set", "  alice@new.test ")
    assert "alice@new.test" in alice.run("email", "show")
    bob = member(bin_dir, tmp_path, server, invite, "bob", "Bob")
    alice.run("interest", "add", "bob", "--as", "peer")
    bob.run("interest", "add", "alice", "--as", "peer")
    deadline = time.time() + 30
    while not server.rows("SELECT 1 FROM notice") and time.time() < deadline:
        time.sleep(0.2)
    assert server.rows("SELECT count(*) FROM notice")[0][0] == 1
    alice.run("email", "clear")
    assert server.rows("SELECT count(*) FROM notice")[0][0] == 0
    assert server.rows("SELECT email FROM member WHERE handle = 'alice'") == [(None,)]
    relay.start()
    time.sleep(4)
    assert relay.received() == []


def test_without_a_relay_no_notice_is_queued_and_reminders_are_refused(bin_dir, tmp_path):
    (tmp_path / "admin").write_text(ADMIN)
    server = start_server(bin_dir, tmp_path)
    server.stop()
    server.start("--admin-credential-file", str(tmp_path / "admin"))
    try:
        invite = server.invite()
        alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice", email_address="alice@example.test")
        bob = member(bin_dir, tmp_path, server, invite, "bob", "Bob", email_address="bob@example.test")
        alice.run("interest", "add", "bob", "--as", "peer")
        bob.run("interest", "add", "alice", "--as", "peer")
        status, answer = admin_post(server, "/v1/admin/programs/acme/reminders", {"kind": "complete-profile"})
        assert status == 409 and answer["type"].endswith(":notices-off")
        time.sleep(2)
        assert server.rows("SELECT count(*) FROM notice")[0][0] == 0
    finally:
        server.stop()


def test_a_relay_without_starttls_is_never_sent_to_in_clear(bin_dir, tmp_path, server, relay):
    relay.start(tls=False)
    invite = server.invite()
    alice = member(bin_dir, tmp_path, server, invite, "alice", "Alice", email_address="alice@example.test")
    bob = member(bin_dir, tmp_path, server, invite, "bob", "Bob", email_address="bob@example.test")
    alice.run("interest", "add", "bob", "--as", "peer")
    bob.run("interest", "add", "alice", "--as", "peer")
    deadline = time.time() + 30
    while server.rows("SELECT count(*) FROM notice WHERE attempts >= 1")[0][0] < 2 and time.time() < deadline:
        time.sleep(0.2)
    assert relay.received() == [], "a notice went out without TLS"
    # libcurl's CURLE_USE_SSL_FAILED (64): STARTTLS was required and not offered; the notices wait.
    log = (tmp_path / "server.log").read_text()
    assert "curl_code=64" in log and "example.test" not in log and PASSWORD not in log
    assert server.rows("SELECT state, count(*) FROM notice GROUP BY state") == [("queued", 2)]
