#!/usr/bin/env python3
"""Independent reference implementation of Reciprocity v1 (Specs/protocol.md).

Written from the specifications only (Specs/protocol.md, Specs/transparency.md, Specs/backup.md; conversations,
Specs/messages.md, in messages_ref.py next to this file), with Python's `cryptography` package for X25519 and the standard
library's `hmac`/`hashlib` for HKDF-SHA256 (RFC 5869). It recomputes every test in Specs/vectors/*.json (ChaCha20-Poly1305 for sealed notes and Ed25519 for signed
tree heads, also from `cryptography`),
prints one line per file and a final "N passed, M failed", and exits non-zero on any mismatch.

Usage: python3 Specs/reference/reciprocity_ref.py [VECTOR_DIR]
"""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import struct
import sys
import unicodedata

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

VERSION_LABEL = b"reciprocity/v1"
SALT = b"reciprocity/v1 hkdf-salt"
NAME_RE = re.compile(r"\A[a-z0-9][a-z0-9._-]{2,63}\Z")
P = 2**255 - 19
SMALL_ORDER = {0, 1, P - 1,
               325606250916557431795983626356110631294008115727848805560023387167927233504,
               39382357235489614581723060781553021112529911719440698176882885853963445705823}
ROLE_LABELS = {"mentorship": ("mentor", "mentee"), "peer": ("peer1", "peer2")}


class ProtocolError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


# --- primitives -------------------------------------------------------------------------------------------

def hkdf_extract(salt, ikm):
    return hmac.new(salt if salt else b"\x00" * 32, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, length):
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def x25519(private_bytes, public_bytes):
    return X25519PrivateKey.from_private_bytes(private_bytes).exchange(X25519PublicKey.from_public_bytes(public_bytes))


def public_key_of(private_bytes):
    return X25519PrivateKey.from_private_bytes(private_bytes).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text, length):
    # Section "Wire encoding": exactly the characters A-Z a-z 0-9 - _ that `length` bytes need, unused bits zero.
    if len(text) != (length * 8 + 5) // 6 or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ProtocolError("invalidEncoding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ProtocolError("invalidEncoding")
    return data


# --- protocol rules ---------------------------------------------------------------------------------------

def check_name(name, code):
    if not NAME_RE.match(name) or not name.isascii():
        raise ProtocolError(code)


def check_public_key(key):
    if len(key) != 32:
        raise ProtocolError("invalidLength")
    u = int.from_bytes(key, "little")
    if u >= P:  # covers bit 255 set as well as p <= u < 2^255
        raise ProtocolError("nonCanonicalPublicKey")
    if u in SMALL_ORDER:
        raise ProtocolError("lowOrderPublicKey")


def lp(field):
    return struct.pack(">H", len(field)) + field


def info(purpose, program, relation, epoch, first, second, role=None):
    fields = [VERSION_LABEL, purpose, program.encode(), relation.encode(), struct.pack(">I", epoch),
              first[0].encode(), first[1], second[0].encode(), second[1]]
    if role is not None:
        fields.append(role.encode())
    return b"".join(lp(f) for f in fields)


def check_epoch(epoch):
    # Section "Key schedule": an unsigned 32-bit integer.
    if type(epoch) is not int or not 0 <= epoch <= 2**32 - 1:
        raise ProtocolError("invalidEpoch")


def derive(t, with_secrets=False):
    check_name(t["program"], "invalidProgram")
    check_epoch(t["epoch"])
    relation, role = t["relation"], t["selfRole"]
    if relation not in ROLE_LABELS:
        raise ProtocolError("invalidRole")
    check_name(t["selfHandle"], "invalidHandle")
    check_name(t["otherHandle"], "invalidHandle")
    private = bytes.fromhex(t["selfPrivateKey"])
    if len(private) != 32:
        raise ProtocolError("invalidLength")
    other_key = bytes.fromhex(t["otherPublicKey"])
    check_public_key(other_key)
    allowed = ("mentor", "mentee") if relation == "mentorship" else ("peer",)
    if role not in allowed:
        raise ProtocolError("invalidRole")
    own_key = public_key_of(private)
    if t["selfHandle"] == t["otherHandle"] or own_key == other_key:
        raise ProtocolError("selfMark")
    own, other = (t["selfHandle"], own_key), (t["otherHandle"], other_key)
    if role == "mentor" or (role == "peer" and own_key < other_key):
        position, first, second = 1, own, other
    else:
        position, first, second = 2, other, own
    secret = x25519(private, other_key)
    if secret == b"\x00" * 32:
        raise ProtocolError("lowOrderPublicKey")
    prk = hkdf_extract(SALT, secret)
    args = (t["program"], relation, t["epoch"], first, second)
    token_info = info(b"token", *args)
    tag_infos = [info(b"confirm", *args, role=label) for label in ROLE_LABELS[relation]]
    token = hkdf_expand(prk, token_info, 32)
    if with_secrets:
        return {"prk": prk, "position": position, "token": token, "args": args, "relation": relation}
    return {
        "selfPublicKey": own_key.hex(), "selfPosition": position, "sharedSecret": secret.hex(), "prk": prk.hex(),
        "tokenInfo": token_info.hex(), "tagInfo1": tag_infos[0].hex(), "tagInfo2": tag_infos[1].hex(),
        "token": token.hex(), "tokenBase64url": b64url(token),
        "tag1": hkdf_expand(prk, tag_infos[0], 32).hex(), "tag2": hkdf_expand(prk, tag_infos[1], 32).hex(),
    }


NOTE_PADDED = 512
NOTE_SEALED = 12 + NOTE_PADDED + 16


def note_key(d, writer):
    label = ROLE_LABELS[d["relation"]][writer - 1]
    note_info = info(b"note", *d["args"], role=label)
    return note_info, hkdf_expand(d["prk"], note_info, 32)


def seal_note(t):
    """Section 'Sealed notes': the writer (self) seals with its own role's key."""
    d = derive(t, with_secrets=True)
    note_info, key = note_key(d, d["position"])
    text = t["note"].encode("utf-8")
    if len(text) > NOTE_PADDED - 2:
        raise ProtocolError("noteTooLong")
    padded = struct.pack(">H", len(text)) + text + b"\x00" * (NOTE_PADDED - 2 - len(text))
    nonce = bytes.fromhex(t["nonce"])
    if len(nonce) != 12:
        raise ProtocolError("invalidLength")
    sealed = nonce + ChaCha20Poly1305(key).encrypt(nonce, padded, d["token"])
    return {"token": d["token"].hex(), "writerNoteInfo": note_info.hex(), "writerNoteKey": key.hex(),
            "paddedPlaintext": padded.hex(), "sealed": sealed.hex()}


def open_note(t):
    """Section 'Sealed notes': the reader opens the writer's note with the writer's role key."""
    sealed = bytes.fromhex(t["sealed"])
    if len(sealed) != NOTE_SEALED:
        raise ProtocolError("invalidLength")
    d = derive(t, with_secrets=True)
    note_info, key = note_key(d, 2 if d["position"] == 1 else 1)
    try:
        padded = ChaCha20Poly1305(key).decrypt(sealed[:12], sealed[12:], d["token"])
    except InvalidTag:
        raise ProtocolError("noteAuthenticationFailed")
    length = struct.unpack(">H", padded[:2])[0]
    if length > NOTE_PADDED - 2 or any(padded[2 + length:]):
        raise ProtocolError("invalidNotePadding")
    try:
        note = padded[2:2 + length].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("invalidNotePadding")
    return {"token": d["token"].hex(), "writerNoteInfo": note_info.hex(), "writerNoteKey": key.hex(),
            "paddedPlaintext": padded.hex(), "note": note}


# --- RFC 9162 Merkle trees (Specs/transparency.md) ---------------------------------------------------

def sha256(data):
    return hashlib.sha256(data).digest()


def mth(leaf_hashes):
    n = len(leaf_hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return sha256(b"\x01" + mth(leaf_hashes[:k]) + mth(leaf_hashes[k:]))


def verify_inclusion(index, size, leaf_hash, proof, root):
    if index < 0 or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old_root, new_root, proof):
    if m < 1 or m > n:
        return False
    if m == n:
        return not proof and old_root == new_root
    path = ([old_root] if m & (m - 1) == 0 else []) + proof
    if not path:
        return False
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = sha256(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def check_merkle(t):
    hashes = [sha256(b"\x00" + bytes.fromhex(leaf)) for leaf in t["leaves"]]
    root = bytes.fromhex(t["root"])
    proof = [bytes.fromhex(p) for p in t.get("proof") or []]
    if t["kind"] == "root":
        ok = mth(hashes) == root
    elif t["kind"] == "inclusion":
        i = t["index"]
        ok = 0 <= i < len(hashes) and verify_inclusion(i, len(hashes), hashes[i], proof, root)
    else:
        ok = verify_consistency(t["index"], len(hashes), bytes.fromhex(t["oldRoot"]), root, proof)
    return None if ok == (t["result"] == "valid") else f"{t['kind']}: expected {t['result']}"


# --- key log and signed tree heads (Specs/transparency.md) ----------------------------------------------

KEY_LOG_EVENTS = {"join": 1, "rotate": 2, "leave": 3}


def key_log_leaf(program, event, handle, key):
    return lp(b"reciprocity-key-log/v1") + lp(program.encode()) + bytes([KEY_LOG_EVENTS[event]]) + lp(handle.encode()) + key


def replay_key_log(t):
    check_name(t["program"], "invalidProgram")
    live, owners, leaves = {}, {}, []
    for e in t["entries"]:
        if e["event"] not in KEY_LOG_EVENTS:
            raise ProtocolError("invalidLogEntry")
        check_name(e["handle"], "invalidHandle")
        key = bytes.fromhex(e["publicKey"])
        check_public_key(key)
        handle, event, current = e["handle"], e["event"], live.get(e["handle"])
        if event != "leave" and owners.get(key, handle) != handle:
            raise ProtocolError("invalidLogEntry")
        if event == "join" and current is not None:
            raise ProtocolError("invalidLogEntry")
        if event == "rotate" and (current is None or current == key):
            raise ProtocolError("invalidLogEntry")
        if event == "leave" and current != key:
            raise ProtocolError("invalidLogEntry")
        if current is not None:
            owners.pop(current, None)
        if event == "leave":
            del live[handle]
        else:
            live[handle], owners[key] = key, handle
        leaves.append(key_log_leaf(t["program"], event, handle, key))
    hashes = [sha256(b"\x00" + leaf) for leaf in leaves]
    return {"leaves": [leaf.hex() for leaf in leaves], "leafHashes": [h.hex() for h in hashes], "root": mth(hashes).hex()}


MAX_TREE_SIZE = 2**63 - 1
MAX_HEAD_AGE_MS = 24 * 3600 * 1000
MAX_FUTURE_SKEW_MS = 5 * 60 * 1000


def sth_number(text, maximum):
    # Grammar: "0", or a digit 1-9 followed by digits (ASCII only); no sign, no leading zero.
    if not re.fullmatch(r"0|[1-9][0-9]*", text) or int(text) > maximum:
        raise ProtocolError("invalidEncoding")
    return int(text)


def check_tree_head(t):
    # Order of checks (Specs/transparency.md section 3): parse the line field by field, program, signature, time.
    fields = t["treeHead"].split(" ")
    if len(fields) != 6 or fields[0] != "reciprocity-sth/v1":
        raise ProtocolError("invalidEncoding")
    check_name(fields[1], "invalidProgram")
    size = sth_number(fields[2], MAX_TREE_SIZE)
    root = b64url_decode(fields[3], 32)
    timestamp = sth_number(fields[4], 2**64 - 1)
    signature = b64url_decode(fields[5], 64)
    if fields[1] != t["program"]:
        raise ProtocolError("invalidSignature")
    message = (lp(b"reciprocity-sth/v1") + lp(fields[1].encode()) + struct.pack(">Q", size) + root
               + struct.pack(">Q", timestamp))
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(t["logPublicKey"])).verify(signature, message)
    except InvalidSignature:
        raise ProtocolError("invalidSignature")
    if "now" in t:
        if timestamp - t["now"] > MAX_FUTURE_SKEW_MS:
            raise ProtocolError("futureHead")
        if t["now"] - timestamp > MAX_HEAD_AGE_MS:
            raise ProtocolError("staleHead")
    return {"root": root.hex()}


def check_key_log(t):
    if t["kind"] == "log":
        return expect(t, replay_key_log, ["leaves", "leafHashes", "root"])
    return expect(t, check_tree_head, ["root"])


# --- key backups (Specs/backup.md) ------------------------------------------------------------------------

BACKUP_FIELDS = ["format", "version", "kdf", "iterations", "salt", "cipher", "nonce", "ciphertext", "checksum"]
BACKUP_READER_ITERATIONS = range(1000, 10_000_000 + 1)


def b64url_decode_any(text):
    """Canonical unpadded base64url of any length (section 2)."""
    if not isinstance(text, str) or len(text) % 4 == 1 or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ProtocolError("backupMalformed")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(data) != text:
        raise ProtocolError("backupMalformed")
    return data


def backup_prepared(passphrase):
    """Section 4 steps 1 and 2: each lone surrogate becomes U+FFFD (a pair is its scalar), then NFC."""
    scalars = passphrase.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return unicodedata.normalize("NFC", scalars)


def backup_passphrase(passphrase):
    """Section 4: the prepared passphrase's UTF-8 bytes."""
    return backup_prepared(passphrase).encode("utf-8")


def backup_number(text):
    """Section 2.1 rule 6: a binary64 value (an infinity when too large); an int when it is an integer."""
    value = float(text)
    return int(value) if math.isfinite(value) and value.is_integer() else value


def backup_json(text):
    """Section 2.1 on text: one leading U+FEFF dropped, at most 512 levels, json.loads (the last duplicate counts).
    Raises ValueError for text that is not JSON."""
    text = text.removeprefix("\ufeff")
    depth = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', text):
        depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(token.group(), 0)
        if depth > 512:
            raise ValueError("nested more than 512 levels deep")
    return json.loads(text, parse_constant=int, parse_int=backup_number, parse_float=backup_number)


def vector_passphrase(t):
    """The passphrase typed: passphraseUTF16's code units where given (it holds a lone surrogate), else passphrase."""
    units = t.get("passphraseUTF16")
    return t["passphrase"] if units is None else bytes.fromhex(units).decode("utf-16-be", "surrogatepass")


def backup_associated_data(iterations, salt, nonce):
    """Section 3: one ASCII line, fields separated by single spaces."""
    return f"reciprocity-key-backup 1 PBKDF2-HMAC-SHA256 {iterations} {b64url(salt)} AES-256-GCM {b64url(nonce)}".encode()


def backup_key(passphrase, salt, iterations):
    return hashlib.pbkdf2_hmac("sha256", backup_passphrase(passphrase), salt, iterations, 32)


def backup_checksum(associated_data, ciphertext):
    return hashlib.sha256(associated_data + b"\n" + ciphertext).digest()


def backup_payload_key(payload):
    """Section 6: a JSON object of exactly privateKey (32 bytes, base64url) and state (an object)."""
    try:
        data = backup_json(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("backupInvalidPayload")
    if not isinstance(data, dict) or set(data) != {"privateKey", "state"} or not isinstance(data["state"], dict):
        raise ProtocolError("backupInvalidPayload")
    try:
        return b64url_decode(data["privateKey"] if isinstance(data["privateKey"], str) else "", 32)
    except ProtocolError:
        raise ProtocolError("backupInvalidPayload")


def backup_text(iterations, salt, nonce, ciphertext, checksum):
    """Section 2: the writer's exact text."""
    fields = {"format": "reciprocity-key-backup", "version": 1, "kdf": "PBKDF2-HMAC-SHA256", "iterations": iterations,
              "salt": b64url(salt), "cipher": "AES-256-GCM", "nonce": b64url(nonce), "ciphertext": b64url(ciphertext),
              "checksum": b64url(checksum)}
    return json.dumps(fields, indent=2) + "\n"


def open_backup(t):
    """Section 5, in its order: parse, version, fields, iterations, checksum, key, AES-GCM, payload."""
    # The file's bytes when the vector gives them (backupHex: they need not be UTF-8), else its text.
    raw = bytes.fromhex(t["backupHex"]) if "backupHex" in t else t["backup"].encode("utf-8", "surrogatepass")
    if len(raw) > 64 << 20:
        raise ProtocolError("backupMalformed")
    try:
        data = backup_json(raw.decode("utf-8") if "backupHex" in t else t["backup"])
    except ValueError:  # UnicodeDecodeError too: section 2.1 rule 1
        raise ProtocolError("backupMalformed")
    if not isinstance(data, dict) or data.get("format") != "reciprocity-key-backup":
        raise ProtocolError("backupMalformed")
    version = data.get("version")
    if type(version) is not int:
        raise ProtocolError("backupMalformed")
    if version != 1:
        raise ProtocolError("backupUnsupportedVersion")
    if set(data) - set(BACKUP_FIELDS) or data.get("kdf") != "PBKDF2-HMAC-SHA256" or data.get("cipher") != "AES-256-GCM":
        raise ProtocolError("backupMalformed")
    iterations = data.get("iterations")
    if type(iterations) is not int:
        raise ProtocolError("backupMalformed")
    fields = {}
    for name, size in (("salt", 16), ("nonce", 12), ("ciphertext", None), ("checksum", 32)):
        if name not in data:
            raise ProtocolError("backupMalformed")
        fields[name] = b64url_decode_any(data[name])
        if size is not None and len(fields[name]) != size:
            raise ProtocolError("backupMalformed")
    if len(fields["ciphertext"]) <= 16:
        raise ProtocolError("backupMalformed")
    if iterations not in BACKUP_READER_ITERATIONS:
        raise ProtocolError("backupIterationsOutOfRange")
    ad = backup_associated_data(iterations, fields["salt"], fields["nonce"])
    if not hmac.compare_digest(backup_checksum(ad, fields["ciphertext"]), fields["checksum"]):
        raise ProtocolError("backupDamaged")
    key = backup_key(vector_passphrase(t), fields["salt"], iterations)
    try:
        payload = AESGCM(key).decrypt(fields["nonce"], fields["ciphertext"], ad)
    except InvalidTag:
        raise ProtocolError("backupWrongPassphrase")
    private = backup_payload_key(payload)
    return {"associatedData": ad.decode(), "derivedKey": key.hex(), "payload": payload.decode("utf-8"),
            "privateKey": private.hex(), "publicKey": public_key_of(private).hex()}


def seal_backup(t):
    """Sections 4 and 7: a writer's checks, then PBKDF2, AES-256-GCM and the checksum."""
    normalized = backup_prepared(vector_passphrase(t))
    if len(normalized) < 15:
        raise ProtocolError("backupPassphraseTooShort")
    if len(normalized.encode("utf-8")) > 1024:
        raise ProtocolError("backupPassphraseTooLong")
    iterations = t["iterations"]
    if iterations not in BACKUP_READER_ITERATIONS:
        raise ProtocolError("backupIterationsOutOfRange")
    payload = t["payload"].encode("utf-8")
    backup_payload_key(payload)
    salt, nonce = bytes.fromhex(t["salt"]), bytes.fromhex(t["nonce"])
    key = backup_key(vector_passphrase(t), salt, iterations)
    ad = backup_associated_data(iterations, salt, nonce)
    ciphertext = AESGCM(key).encrypt(nonce, payload, ad)
    return {"associatedData": ad.decode(), "derivedKey": key.hex(),
            "backup": backup_text(iterations, salt, nonce, ciphertext, backup_checksum(ad, ciphertext))}


def check_backup(t, group_type):
    if group_type == "ReciprocityBackupExportTest":
        return expect(t, seal_backup, ["associatedData", "derivedKey", "backup"])
    return expect(t, open_backup, ["associatedData", "derivedKey", "payload", "privateKey", "publicKey"])


# --- vector checks ----------------------------------------------------------------------------------------

def expect(test, compute, fields):
    """Returns None when the test agrees, else a reason."""
    try:
        out = compute(test)
    except ProtocolError as error:
        if test["result"] == "valid":
            return f"expected valid, got {error.code}"
        wanted = test.get("error")
        return None if wanted in (None, error.code) else f"expected {wanted}, got {error.code}"
    except Exception as error:  # a primitive refused the input
        return None if test["result"] == "invalid" and "error" not in test else f"unexpected {error!r}"
    if test["result"] != "valid":
        return f"expected error {test.get('error')}, computation succeeded"
    wrong = [f for f in fields if test.get(f) != out[f]]
    return f"mismatch in {', '.join(wrong)}" if wrong else None


def check_token(t):
    return expect(t, derive, ["selfPublicKey", "selfPosition", "sharedSecret", "prk", "tokenInfo", "tagInfo1",
                              "tagInfo2", "token", "tokenBase64url", "tag1", "tag2"])


def check_note(t, group_type):
    if group_type == "ReciprocityNoteSealTest":
        return expect(t, seal_note, ["token", "writerNoteInfo", "writerNoteKey", "paddedPlaintext", "sealed"])
    return expect(t, open_note, ["token", "writerNoteInfo", "writerNoteKey", "paddedPlaintext", "note"])


def check_x25519(t):
    return expect(t, lambda t: {"shared": x25519(bytes.fromhex(t["private"]), bytes.fromhex(t["public"])).hex()},
                  ["shared"])


def check_hkdf(t):
    def compute(t):
        prk = hkdf_extract(bytes.fromhex(t["salt"]), bytes.fromhex(t["ikm"]))
        return {"prk": prk.hex(), "okm": hkdf_expand(prk, bytes.fromhex(t["info"]), t["size"]).hex()}
    return expect(t, compute, ["prk", "okm"])


def check_base64url(t):
    # byteCount is absent from the file's first (32-byte) tests.
    return expect(t, lambda t: {"decoded": b64url_decode(t["encoded"], t.get("byteCount", 32)).hex()}, ["decoded"])


def check_messages(t):
    # Conversations (Specs/messages.md) are kept in their own file, which imports this one's primitives: imported
    # here rather than at the top, where the two imports would wait on each other.
    from messages_ref import check_messages as check
    return check(t)


CHECKS = {"RECIPROCITY-TOKEN-V1": check_token, "RECIPROCITY-NOTE-V1": check_note, "MERKLE-RFC9162-SHA256": check_merkle,
          "RECIPROCITY-KEY-LOG-V1": check_key_log, "X25519": check_x25519, "HKDF-SHA-256": check_hkdf,
          "BASE64URL-32": check_base64url, "RECIPROCITY-BACKUP-V1": check_backup,
          "RECIPROCITY-MESSAGES-V1": check_messages}


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "vectors")
    passed = failed = 0
    for name in sorted(f for f in os.listdir(directory) if f.endswith(".json")):
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            data = json.load(handle)
        check = CHECKS.get(data.get("algorithm"))
        if check is None:
            print(f"FAIL {name}: unknown algorithm {data.get('algorithm')!r}")
            failed += 1
            continue
        grouped = [(group["type"], t) for group in data["testGroups"] for t in group["tests"]]
        tests = [t for _, t in grouped]
        file_failed = 0
        if len(tests) != data["numberOfTests"]:
            print(f"FAIL {name}: numberOfTests says {data['numberOfTests']}, found {len(tests)}")
            file_failed += 1
        for group_type, t in grouped:
            # A group's type says what its tests exercise; the note and backup files have two kinds of group.
            reason = check(t, group_type) if check in (check_note, check_backup) else check(t)
            if reason:
                file_failed += 1
                print(f"     tcId {t['tcId']}: {reason}")
        failed += file_failed
        passed += len(tests) - min(file_failed, len(tests))
        status = "ok  " if file_failed == 0 else "FAIL"
        print(f"{status} {name} ({data['algorithm']}): {len(tests)} tests, {file_failed} failed")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
