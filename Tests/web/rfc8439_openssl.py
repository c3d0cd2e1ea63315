"""Checks the typed-in RFC 8439 cases of rfc8439_test.json with OpenSSL (Python `cryptography`), so that a
transcription error in the test data cannot go unnoticed: returns one message per disagreement."""

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305


def _chacha20(key, counter, nonce, data):
    # cryptography's ChaCha20 takes a 16-byte nonce: the 32-bit little-endian counter, then the RFC's nonce.
    cipher = Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), mode=None)
    return cipher.encryptor().update(data)


def check(case):
    b = {k: bytes.fromhex(v) for k, v in case.items() if k in
         ("key", "nonce", "aad", "plaintext", "ciphertext", "tag", "block", "message")}
    kind = case["kind"]
    if kind == "chacha20Block":
        ok = _chacha20(b["key"], case["counter"], b["nonce"], bytes(64)) == b["block"]
    elif kind == "chacha20":
        ok = _chacha20(b["key"], case["counter"], b["nonce"], b["plaintext"]) == b["ciphertext"]
    elif kind == "poly1305":
        ok = Poly1305.generate_tag(b["key"], b["message"]) == b["tag"]
    elif kind in ("aead", "aeadDecrypt"):
        try:
            ok = ChaCha20Poly1305(b["key"]).decrypt(b["nonce"], b["ciphertext"] + b["tag"], b["aad"]) == b["plaintext"]
        except InvalidTag:
            ok = False
    else:
        return f"unknown kind {kind}"
    return None if ok else f"RFC 8439 section {case['section']}: the typed-in bytes disagree with OpenSSL"
