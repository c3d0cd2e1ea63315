#!/usr/bin/env python3
"""Web app figures (a benchmark, not a test): in headless Chromium against a real `reciprocityd serve` on loopback,

- derivations per second with reciprocity.js (`deriveMark`, a non-extractable key, one after another and 16 at a
  time) against the Swift client's `derive` (`reciprocity-bench derive` from --bin) in the same run: `ratio`;
- the time to mark 50 people at once in the app, from the click on "Mark" to the page showing the server's answer
  (the first mark of a member: 50 real marks and the dummies up to P = 64, derived, sealed and sent in one POST,
  after GET /v1/me, the key-log sync and GET /v1/marks).

Usage: Tests/web/bench_web.py [--chromium /usr/bin/chromium] [--bin Benchmarks/.build/release] [--runs 3]

--bin is a folder holding reciprocity-bench, reciprocityd and reciprocity: `(cd Benchmarks && swift build -c release)`
builds all three into Benchmarks/.build/release, the default (docs/benchmarks.md).
"""

import argparse
import json
import pathlib
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from support import ROOT, Server, b64url, idle  # noqa: E402

DERIVE = """async (count) => {
    const r = await import("/web/reciprocity.js");
    const me = await r.generateKeyPair();
    const others = await Promise.all(Array.from({ length: 16 }, () => r.generateKeyPair()));
    const start = performance.now();
    for (let i = 0; i < count; i++) {
        await r.deriveMark({ program: "bench", relation: "mentorship", epoch: 0, selfHandle: "bench-self", selfRole: "mentee",
            privateKey: me.privateKey, otherHandle: "bench-other", otherPublicKey: others[i % 16].publicKey });
    }
    return count / ((performance.now() - start) / 1000);
}"""


# The same derivations started 16 at a time: WebCrypto runs deriveBits off the page's thread, so a page that
# derives a batch of marks together (as membership.js can) is not bound by one call's round trip.
DERIVE_CONCURRENT = """async (count) => {
    const r = await import("/web/reciprocity.js");
    const me = await r.generateKeyPair();
    const others = await Promise.all(Array.from({ length: 16 }, () => r.generateKeyPair()));
    const start = performance.now();
    for (let i = 0; i < count; i += 16) {
        await Promise.all(others.map((other) => r.deriveMark({ program: "bench", relation: "mentorship", epoch: 0,
            selfHandle: "bench-self", selfRole: "mentee", privateKey: me.privateKey, otherHandle: "bench-other",
            otherPublicKey: other.publicKey })));
    }
    return count / ((performance.now() - start) / 1000);
}"""


# The floor: the WebCrypto calls one derivation needs (import the peer's key, X25519, import Z for HKDF, three
# HKDF-SHA256 expansions of ~190-byte infos), 16 at a time, with none of reciprocity.js around them. No page
# code can derive faster than this; deriveMark's rate over it is our own overhead.
WEBCRYPTO_FLOOR = """async (count) => {
    const s = crypto.subtle, r = await import("/web/reciprocity.js");
    const me = await r.generateKeyPair();
    const others = await Promise.all(Array.from({ length: 16 }, () => r.generateKeyPair()));
    const salt = new Uint8Array(24), info = new Uint8Array(190);
    const one = async (publicKey) => {
        const peer = await s.importKey("raw", publicKey, { name: "X25519" }, false, []);
        const z = await s.deriveBits({ name: "X25519", public: peer }, me.privateKey, 256);
        const ikm = await s.importKey("raw", z, "HKDF", false, ["deriveBits"]);
        return Promise.all([0, 1, 2].map(() => s.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, ikm, 256)));
    };
    const start = performance.now();
    for (let i = 0; i < count; i += 16) await Promise.all(others.map((other) => one(other.publicKey)));
    return count / ((performance.now() - start) / 1000);
}"""


def swift_derive_rates(bin_folder):
    """The Swift client's derivation rate and OpenSSL's bare X25519 rate (`reciprocity-bench derive`), same run."""
    import subprocess
    output = subprocess.run([str(pathlib.Path(bin_folder) / "reciprocity-bench"), "derive", "--rounds", "6"],
                            capture_output=True, text=True, check=True).stdout
    figures = dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)
    return float(figures["derive_per_s"]), float(figures["openssl_x25519_per_s"])


def join_by_http(base, invite, handle):
    key = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    body = json.dumps({"invite": invite, "handle": handle, "publicKey": b64url(key),
                       "profile": {"displayName": handle, "offersMentoring": True}}).encode()
    request = urllib.request.Request(f"{base}/v1/programs/acme/members", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bin", default=str(ROOT / "Benchmarks" / ".build" / "release"),
                        help="folder with reciprocity-bench, reciprocityd and reciprocity (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    missing = [name for name in ("reciprocity-bench", "reciprocityd", "reciprocity")
               if not (pathlib.Path(args.bin) / name).is_file()]
    if missing:
        parser.error(f"no {', '.join(missing)} in {args.bin}: '(cd Benchmarks && swift build -c release)' builds all three "
                     "into Benchmarks/.build/release, the default --bin")
    folder = tempfile.mkdtemp(prefix="reciprocity-web-bench-")
    server = Server(args.bin, folder)
    server.admin("program", "create", "acme", "--max-marks", "64")
    invite = server.invite(1000)
    server.start()
    try:
        for i in range(50 * args.runs):
            join_by_http(server.base, invite, f"m{i:03d}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(server.base + "/")
            rates, concurrent, floor = [], [], []
            for _ in range(5):  # interleaved, so that a burst of load on the shared machine hits all three alike
                rates.append(page.evaluate(DERIVE, 800))
                concurrent.append(page.evaluate(DERIVE_CONCURRENT, 800))
                floor.append(page.evaluate(WEBCRYPTO_FLOOR, 800))
            swift, openssl_x25519 = swift_derive_rates(args.bin)
            js = max(statistics.median(rates), statistics.median(concurrent))
            floor = statistics.median(floor)
            print(f"reciprocity.js deriveMark: {statistics.median(rates):.0f} derivations/s one after another, "
                  f"{statistics.median(concurrent):.0f} 16 at a time (medians of 5 runs of 800)")
            print(f"WebCrypto floor (the same calls without reciprocity.js, 16 at a time): {floor:.0f}/s; "
                  f"deriveMark reaches {js / floor:.2f} of it")
            print(f"Swift client derive (reciprocity-bench derive, same run): {swift:.0f} derivations/s; "
                  f"OpenSSL's bare X25519: {openssl_x25519:.0f}/s")
            print(f"floor_ratio: {floor / swift:.3f} (the best any page code could reach)")
            print(f"ratio: {js / swift:.3f} (target >= 0.50)")
            times = []
            for run in range(args.runs):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{server.base}/join#program=acme&invite={invite}")
                page.fill("#join-handle", f"bencher{run}")
                page.fill("#join-name", "Bencher")
                page.click("#join-form button[type=submit]")
                expect(page.locator("#status")).to_contain_text("Welcome", timeout=30_000)
                page.click("#nav button[data-screen=directory]")
                idle(page)
                chosen = 0
                while chosen < 50:
                    for box in page.locator("#directory-list input[data-handle]").all():
                        handle = box.get_attribute("data-handle")
                        number = int(handle[1:]) if handle[1:].isdigit() else -1
                        if 50 * run <= number < 50 * (run + 1) and chosen < 50:
                            box.check()
                            chosen += 1
                    if chosen < 50:
                        page.click("#page-next")
                        idle(page)
                expect(page.locator("#mark-submit")).to_have_text("Mark 50 people privately")
                start = time.perf_counter()
                page.click("#mark-submit")
                expect(page.locator("#status")).to_contain_text("Marked privately", timeout=60_000)
                times.append(time.perf_counter() - start)
                context.close()
            print(f"mark 50 people at once, click to answer shown: median {statistics.median(times) * 1000:.0f} ms "
                  f"({', '.join(f'{t * 1000:.0f}' for t in times)} ms)")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
