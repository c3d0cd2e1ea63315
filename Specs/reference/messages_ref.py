#!/usr/bin/env python3
"""Independent reference implementation of Reciprocity v1 conversations (Specs/messages.md).

Written from Specs/messages.md only, with Python's `cryptography` package for ChaCha20-Poly1305; X25519, HKDF-SHA256
and the length prefix are reciprocity_ref.py's own (one reference, the primitives checked once against their
vectors there). `check_messages(test)` replays one test of Specs/vectors/reciprocity_messages_v1_test.json;
reciprocity_ref.py calls it for that file. Run alone, it checks that file and exits non-zero on any mismatch.

Usage: python3 Specs/reference/messages_ref.py [VECTOR_FILE]
"""

import hashlib
import hmac
import json
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from reciprocity_ref import P, SMALL_ORDER, hkdf_expand, hkdf_extract, lp, public_key_of, x25519

ROOT = b"reciprocity/v1 messages root"
RATCHET = b"reciprocity/v1 messages ratchet"
KEY = b"reciprocity/v1 messages key"
AD = b"reciprocity/v1 messages"
FIRST = b"reciprocity/v1 messages first chain"
FIRST_MARKER = 0xFFFFFFFF  # the PN of a message on A's first chain
MAX_FIRST_CHAINS = 20
SIZES = (256, 1024, 4096)
HEADER = 41
MAX_SKIP = 100
MAX_SKIPPED = 1000
REMEMBERED = 20


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def hkdf(salt, ikm, info, length):
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def valid_public_key(key):
    u = int.from_bytes(key, "little")
    return len(key) == 32 and u < P and u not in SMALL_ORDER


# Section 4.
def kdf_rk(rk, dh):
    out = hkdf(rk, dh, lp(RATCHET), 64)
    return out[:32], out[32:]


def kdf_first(sk, dh):
    return hkdf(sk, dh, lp(FIRST), 32)


def kdf_ck(ck):
    return hmac.new(ck, b"\x01", hashlib.sha256).digest(), hmac.new(ck, b"\x02", hashlib.sha256).digest()


def aead_key(mk):
    out = hkdf(b"\x00" * 32, mk, lp(KEY), 44)
    return out[:32], out[32:]


class Side:
    """One member's state (section 5)."""

    def __init__(self, t, me, other, start_key):
        self.program, self.epoch, self.token = t["program"].encode(), t["epoch"], bytes.fromhex(t["token"])
        own_private = bytes.fromhex(me["privateKey"])
        own_public, peer_public = bytes.fromhex(me["publicKey"]), bytes.fromhex(other["publicKey"])
        if public_key_of(own_private) != own_public:
            raise ValueError("a member's public key does not match its private key")
        self.is_a = own_public < peer_public  # section 3: bytes compared as unsigned, byte 0 first
        a, b = (me, other) if self.is_a else (other, me)
        self.dh0 = x25519(own_private, peer_public)
        self.root_info = b"".join(lp(f) for f in [
            ROOT, self.program, struct.pack(">I", self.epoch), a["handle"].encode(), bytes.fromhex(a["publicKey"]),
            b["handle"].encode(), bytes.fromhex(b["publicKey"])])
        self.sk = hkdf(self.token, self.dh0, self.root_info, 32)
        self.own_static = own_public
        self.skipped = []  # [(ratchet key, n, mk)] in the order stored
        self.retired_peer, self.retired_own = [], []
        self.first_chains = {}  # B: a0 -> [chain key, Nr], in the order first read
        self.ns = self.nr = self.pn = 0
        self.rk, self.ckr = self.sk, None
        fresh = start_key()
        if self.is_a:
            self.dhs, self.dhs_pub, self.dhr = own_private, own_public, None
            self.first_key = public_key_of(fresh)  # a0's private half is not kept
            self.cks = kdf_first(self.sk, x25519(fresh, peer_public))
            self.own_private = None
        else:
            self.first_key, self.own_private = None, own_private
            self.dhr = peer_public
            self.dhs, self.dhs_pub = fresh, public_key_of(fresh)
            self.rk, self.cks = kdf_rk(self.rk, x25519(self.dhs, self.dhr))

    def direction(self, sender_is_a):
        return b"a-to-b" if sender_is_a else b"b-to-a"

    def ad(self, sender_is_a, header):
        return b"".join(lp(f) for f in [AD, self.program, struct.pack(">I", self.epoch), self.token,
                                        self.direction(sender_is_a), header])

    # Section 6.
    def seal(self, payload):
        if len(payload) > SIZES[-1] - 2 or self.ns >= FIRST_MARKER - 1:
            raise Refused("messageTooLong")
        size = next(s for s in SIZES if s >= len(payload) + 2)
        padded = struct.pack(">H", len(payload)) + payload + b"\x00" * (size - 2 - len(payload))
        if self.first_key is not None:
            header = b"\x01" + self.first_key + struct.pack(">II", FIRST_MARKER, self.ns)
        else:
            header = b"\x01" + self.dhs_pub + struct.pack(">II", self.pn, self.ns)
        mk, self.cks = kdf_ck(self.cks)
        key, nonce = aead_key(mk)
        ad = self.ad(self.is_a, header)
        self.ns += 1
        return header + ChaCha20Poly1305(key).encrypt(nonce, padded, ad), ad, key, nonce

    # Section 7, on a copy: the caller keeps the copy only when this returns.
    def skip_chain(self, key, ck, nr, until):
        """Skips to `until` on the chain of ratchet key `key`; returns the chain key and Nr."""
        if until > nr + MAX_SKIP:
            raise Refused("messageOutsideWindow")
        while nr < until:
            mk, ck = kdf_ck(ck)
            self.skipped.append((key, nr, mk))
            nr += 1
        del self.skipped[:max(0, len(self.skipped) - MAX_SKIPPED)]
        return ck, nr

    def skip(self, until):
        if self.ckr is not None:
            self.ckr, self.nr = self.skip_chain(self.dhr, self.ckr, self.nr, until)

    def first_chain(self, a0, n):
        """Section 7 step 3: the key of message n of the first chain of a0."""
        if self.is_a:
            raise Refused("messageWrongSide")
        found = [i for i, (k, m, _) in enumerate(self.skipped) if k == a0 and m == n]
        if found:
            return self.skipped.pop(found[0])[2]
        if a0 not in self.first_chains:
            if len(self.first_chains) >= MAX_FIRST_CHAINS:
                raise Refused("messageOutsideWindow")
            self.first_chains[a0] = [kdf_first(self.sk, x25519(self.own_private, a0)), 0]
        ck, nr = self.first_chains[a0]
        if n < nr:
            raise Refused("messageReplayed")
        ck, nr = self.skip_chain(a0, ck, nr, n)
        mk, ck = kdf_ck(ck)
        self.first_chains[a0] = [ck, n + 1]
        return mk

    def open(self, envelope, next_key):
        if len(envelope) not in [HEADER + s + 16 for s in SIZES] or envelope[0] != 1:
            raise Refused("messageMalformed")
        header, key_in = envelope[:HEADER], envelope[1:33]
        pn, n = struct.unpack(">II", envelope[33:41])
        if not valid_public_key(key_in):
            raise Refused("messageMalformed")
        if key_in in [self.own_static, self.dhs_pub] + self.retired_own:
            raise Refused("messageWrongSide")
        new_chain = False
        found = [i for i, (k, m, _) in enumerate(self.skipped) if k == key_in and m == n]
        if pn == FIRST_MARKER:
            mk = self.first_chain(key_in, n)
        elif found:
            mk = self.skipped.pop(found[0])[2]
        elif key_in == self.dhr and self.ckr is not None:
            if n < self.nr:
                raise Refused("messageReplayed")
            self.skip(n)
            mk, self.ckr = kdf_ck(self.ckr)
            self.nr = n + 1
        elif key_in in self.retired_peer:
            raise Refused("messageReplayed")
        else:
            self.skip(pn)
            if self.dhr is not None:
                self.retired_peer = (self.retired_peer + [self.dhr])[-REMEMBERED:]
            self.pn, self.ns, self.nr, self.dhr = self.ns, 0, 0, key_in
            self.rk, self.ckr = kdf_rk(self.rk, x25519(self.dhs, self.dhr))
            self.skip(n)
            mk, self.ckr = kdf_ck(self.ckr)
            self.nr = n + 1
            new_chain = True
        key, nonce = aead_key(mk)
        try:
            padded = ChaCha20Poly1305(key).decrypt(nonce, envelope[HEADER:], self.ad(not self.is_a, header))
        except InvalidTag:
            raise Refused("messageAuthenticationFailed") from None
        length = struct.unpack(">H", padded[:2])[0]
        if length > len(padded) - 2 or next(s for s in SIZES if s >= length + 2) != len(padded) \
                or any(padded[2 + length:]):
            raise Refused("invalidMessagePadding")
        try:
            text = padded[2:2 + length].decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("invalidMessagePadding") from None
        if new_chain:
            self.retired_own = (self.retired_own + [self.dhs_pub])[-REMEMBERED:]
            self.dhs = next_key()
            self.dhs_pub = public_key_of(self.dhs)
            self.rk, self.cks = kdf_rk(self.rk, x25519(self.dhs, self.dhr))
            self.first_key = None
        return text


def copy_side(side):
    clone = Side.__new__(Side)
    clone.__dict__ = {k: (list(v) if isinstance(v, list) else v) for k, v in side.__dict__.items()}
    clone.first_chains = {k: list(v) for k, v in side.first_chains.items()}
    return clone


def check_messages(t):
    """Replays one test; returns None when it agrees, else a reason."""
    try:
        members = t["members"]
        keys = {True: bytes.fromhex(t["firstRatchetPrivateKey"]), False: bytes.fromhex(t["initialRatchetPrivateKey"])}
        order = bytes.fromhex(members[0]["publicKey"]) < bytes.fromhex(members[1]["publicKey"])
        sides = {members[i]["handle"]: Side(t, members[i], members[1 - i], lambda i=i: keys[(i == 0) == order])
                 for i in (0, 1)}
    except Exception as error:  # noqa: BLE001 - a test that cannot start is a failure, reported
        return f"cannot start: {error!r}"
    first = sides[members[0]["handle"]]
    wrong = []
    side = next(h for h, s in sides.items() if s.is_a)
    for name, mine in [("side", side), ("staticSharedSecret", first.dh0.hex()), ("rootInfo", first.root_info.hex()),
                       ("rootSecret", first.sk.hex())]:
        if t.get(name) != mine:
            wrong.append(name)
    first_error = None
    for number, step in enumerate(t["steps"], start=1):
        member = sides[step["member"]]
        if step["action"] == "start":
            other = next(m for m in members if m["handle"] != step["member"])
            me = next(m for m in members if m["handle"] == step["member"])
            try:
                sides[step["member"]] = Side(t, me, other, lambda step=step: bytes.fromhex(step["ratchetPrivateKey"]))
            except (KeyError, ValueError) as error:
                return f"step {number}: a start without a valid ratchetPrivateKey ({error!r})"
            continue
        if step["action"] == "send":
            for _ in range(step.get("count", 1)):
                envelope, ad, key, nonce = member.seal(step["payload"].encode("utf-8"))
            for name, mine in [("envelope", envelope), ("associatedData", ad), ("aeadKey", key), ("aeadNonce", nonce)]:
                if step.get(name) != mine.hex():
                    wrong.append(f"step {number} {name}")
            continue
        used = []

        def next_key(step=step, used=used):
            if "ratchetPrivateKey" not in step:
                raise ValueError("a DH ratchet step without a ratchetPrivateKey")
            used.append(True)
            return bytes.fromhex(step["ratchetPrivateKey"])
        trial = copy_side(member)
        try:
            payload = trial.open(bytes.fromhex(step["envelope"]), next_key)
            sides[step["member"]] = trial
            got = ("payload", payload)
        except Refused as refusal:
            got = ("error", refusal.code)
            first_error = first_error or refusal.code
        except ValueError as error:
            return f"step {number}: {error}"
        expected = ("error", step["error"]) if "error" in step else ("payload", step.get("payload"))
        if got != expected:
            wrong.append(f"step {number}: expected {expected}, got {got}")
        if bool(used) != ("ratchetPrivateKey" in step):
            wrong.append(f"step {number} ratchetPrivateKey")
    if t["result"] != ("invalid" if first_error else "valid") or t.get("error") != first_error:
        wrong.append("result")
    return f"mismatch in {', '.join(wrong)}" if wrong else None


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "vectors", "reciprocity_messages_v1_test.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("algorithm") != "RECIPROCITY-MESSAGES-V1":
        print(f"FAIL {path}: not a RECIPROCITY-MESSAGES-V1 file")
        return 1
    tests = [t for group in data["testGroups"] for t in group["tests"]]
    failed = 0
    for t in tests:
        reason = check_messages(t)
        if reason:
            failed += 1
            print(f"     tcId {t['tcId']}: {reason}")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed or not tests or len(tests) != data["numberOfTests"] else 0


if __name__ == "__main__":
    sys.exit(main())
