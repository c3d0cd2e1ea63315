#!/usr/bin/env python3
"""Writes Tests/web/vectors/qr_test.json: QR codes made by a reference encoder (segno, pinned in
scripts/requirements-test.txt) for the console's encoder, web/qr.js, to match module for module
(Tests/web/test_qr.py). Byte mode (the text as UTF-8), error correction level M, the smallest version.

The texts: short ones, join links of several lengths, UTF-8 beyond ASCII, for every version 1 to 40 the longest
text it holds and one byte more (which needs the next version), and join links until each of the eight data masks
has been chosen at least twice.

segno 1.6.6 differs from ISO/IEC 18004:2015 7.4.10 in one place, patched here: when the bit stream already ends
on a codeword boundary (always so in byte mode once the 4-bit terminator fits) it adds a whole codeword of zero
bits before the pad codewords, where the standard adds padding bits only to reach the boundary. Readers ignore
both; the vectors keep to the standard.

Usage: scripts/qr_vectors.py   (needs segno: .venv-test/bin/python scripts/qr_vectors.py)
"""

import json
import pathlib
import random

import segno
import segno.encoder

OUT = pathlib.Path(__file__).resolve().parents[1] / "Tests" / "web" / "vectors" / "qr_test.json"
# Data codewords at level M for versions 1 to 40 (ISO/IEC 18004:2015 Table 7).
DATA_CODEWORDS_M = [16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415, 453, 507, 563, 627, 669,
                    714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631, 1725, 1812, 1914, 1992,
                    2102, 2216, 2334]


def standard_padding(buff, version, length):
    buff.extend([0] * ((8 - length % 8) % 8))


segno.encoder.write_padding_bits = standard_padding


def reference(text):
    """segno's symbol for `text`: its version, mask and module rows as hexadecimal (1 = dark, most significant
    bit first, each row padded with 0 bits to a whole hex digit)."""
    code = segno.make(text.encode("utf-8"), error="m", mode="byte", boost_error=False, micro=False)
    rows = []
    for row in code.matrix:
        bits = "".join(str(bit) for bit in row)
        bits += "0" * (-len(bits) % 4)
        rows.append(f"{int(bits, 2):0{len(bits) // 4}x}")
    return {"version": code.version, "mask": code.mask, "size": len(code.matrix), "matrix": rows}


def texts():
    rng = random.Random(27)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    yield "one byte", "a"
    yield "empty", ""
    yield "ASCII sentence", "Hello, organizer!"
    yield "UTF-8 beyond ASCII", "Mentoring · Élan ✓ 日本語 🙂"
    for host in ["localhost:8080", "reciprocity.example.org", "mentoring.chapter-of-a-long-organisation-name.example"]:
        for program in ["acme", "rust-mentors-2026", "a" * 64]:
            code = "rcpi_" + "".join(rng.choice(alphabet) for _ in range(43))
            yield "join link", f"https://{host}/join#program={program}&invite={code}"
    for version, codewords in enumerate(DATA_CODEWORDS_M, start=1):
        count_bits = 8 if version <= 9 else 16
        longest = (codewords * 8 - 4 - count_bits) // 8
        yield f"the longest text of version {version}", "".join(rng.choice(alphabet) for _ in range(longest))
        if version < 40:
            yield f"one byte more than version {version} holds", "".join(rng.choice(alphabet) for _ in range(longest + 1))


def every_mask(tests):
    """Join links (seeded, so the file is the same on every run) until each mask is in `tests` twice."""
    rng = random.Random(18004)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
    counts = {mask: sum(t["mask"] == mask for t in tests) for mask in range(8)}
    while min(counts.values()) < 2:
        code = "".join(rng.choice(alphabet) for _ in range(43))
        text = f"https://mentoring.example.org/join#program=p{rng.randrange(1000)}&invite=rcpi_{code}"
        symbol = reference(text)
        if counts[symbol["mask"]] < 2:
            counts[symbol["mask"]] += 1
            yield f"join link masked with pattern {symbol['mask']}", text, symbol


def main():
    tests = []
    for tc_id, (comment, text) in enumerate(texts(), start=1):
        tests.append({"tcId": tc_id, "comment": comment, "text": text, **reference(text)})
    for comment, text, symbol in list(every_mask(tests)):
        tests.append({"tcId": len(tests) + 1, "comment": comment, "text": text, **symbol})
    document = {
        "algorithm": "QR code, byte mode, error correction level M",
        "generator": f"segno {segno.__version__} (scripts/qr_vectors.py)",
        "notes": "matrix: one hexadecimal string per row, top to bottom, 1 = dark, most significant bit first, "
                 "padded with 0 bits to a whole hex digit; no quiet zone",
        "numberOfTests": len(tests),
        "tests": tests,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(tests)} tests, versions {min(t['version'] for t in tests)} to {max(t['version'] for t in tests)}")


if __name__ == "__main__":
    main()
