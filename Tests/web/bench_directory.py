#!/usr/bin/env python3
"""The web app's directory replica (a benchmark, not a test): in headless Chromium against a real
`reciprocityd serve` on loopback, a program of --members members (10,000 by default) with realistic profiles,
and directory.js as the page runs it (GET /v1/profiles, IndexedDB database `reciprocity-directory`):

- first sync: the whole directory into an empty replica (bytes of the answers, requests, ms, until stored);
- incremental sync after --changed members changed their profile, and with nothing changed (the timer's usual
  turn): bytes and ms;
- the replica's size in IndexedDB (Chromium's own usage figure, the database alone) and as JSON;
- opening the stored replica (a reload) and one local search over it, in ms.

Byte figures are the response bodies as sent (the server does not compress). Medians of --runs runs.

Usage: Tests/web/bench_directory.py [--chromium /usr/bin/chromium] [--bin .build/release] [--members 10000]
       [--changed 100] [--runs 3]
"""

import argparse
import concurrent.futures
import json
import pathlib
import random
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
from support import ROOT, Server, b64url  # noqa: E402

TAGS = ["swift", "rust", "go", "python", "sql", "linux", "design", "leadership", "product", "security", "data",
        "ml", "ios", "android", "web", "devops", "testing", "writing", "speaking", "hiring"]
WORDS = ["backend", "frontend", "platform", "systems", "mobile", "research", "infrastructure", "teams", "growth",
         "reliability", "compilers", "networks", "storage", "search", "payments"]


def profile(rng, i):
    return {
        "displayName": f"Member {i:05d} {rng.choice(['Ana', 'Bo', 'Chen', 'Dana', 'Émile', 'Farah', 'Gus'])}",
        "headline": f"{rng.randint(2, 25)} years of {rng.choice(WORDS)} and {rng.choice(WORDS)} work",
        "tags": rng.sample(TAGS, 3),
        "offersMentoring": rng.random() < 0.4, "seeksMentoring": rng.random() < 0.5,
    }


def call(base, method, path, body=None, credential=None):
    headers = {"Content-Type": "application/json"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    request = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def join(base, invite, i):
    key = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    answer = call(base, "POST", "/v1/programs/acme/members",
                  {"invite": invite, "handle": f"m{i:05d}", "publicKey": b64url(key), "profile": profile(random.Random(i), i)})
    return answer["credential"]


# directory.js as the app runs it, on a page of the origin without the app: an empty replica synced, then
# opened again from IndexedDB and searched.
SYNC = """async (fresh) => {
    const { Membership } = await import("/web/membership.js");
    const d = await import("/web/directory.js");
    if (fresh) await d.forgetDirectory();
    const membership = await Membership.open();
    const replica = await d.DirectoryReplica.open(membership.state.program);
    const start = performance.now();
    const changed = await replica.sync(membership.api);
    const syncMs = performance.now() - start;
    const t0 = performance.now();
    const reopened = await d.DirectoryReplica.open(membership.state.program);
    const openMs = performance.now() - t0;
    const t1 = performance.now();
    const found = reopened.search({ q: "emile", tag: "swift", offersMentoring: true }).length;
    const searchMs = performance.now() - t1;
    return { changed, syncMs, openMs, searchMs, found, members: reopened.members.size };
}"""

SIZES = """async () => {
    const d = await import("/web/directory.js");
    const usage = async () => (await navigator.storage.estimate()).usageDetails?.indexedDB ?? (await navigator.storage.estimate()).usage;
    const db = await new Promise((ok, no) => { const r = indexedDB.open("reciprocity-directory"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
    const all = await new Promise((ok) => { const r = db.transaction("profiles").objectStore("profiles").getAll(); r.onsuccess = () => ok(r.result); });
    db.close();
    const json = new TextEncoder().encode(JSON.stringify(all)).length;
    const withReplica = await usage();
    await d.forgetDirectory();
    const without = await usage();
    return { json, idb: withReplica - without };
}"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="reciprocity-directory-bench-")
    server = Server(args.bin, folder)
    server.admin("program", "create", "acme", "--max-marks", "8")
    invite = server.invite(args.members + 10)
    server.start()
    try:
        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            credentials = list(pool.map(lambda i: join(server.base, invite, i), range(args.members)))
        print(f"program of {args.members} members joined over HTTP in {time.perf_counter() - start:.0f} s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"{server.base}/join#program=acme&invite={invite}")
            page.fill("#join-handle", "bencher")
            page.fill("#join-name", "Bencher")
            page.click("#join-form button[type=submit]")
            expect(page.locator("#status")).to_contain_text("Welcome", timeout=60_000)
            page.goto(server.base + "/web-manifest.json")  # the modules alone: no timer of the app runs
            answers = []
            page.on("response", lambda r: answers.append(r) if "/v1/profiles" in r.url else None)

            def measure(fresh):
                answers.clear()
                result = page.evaluate(SYNC, fresh)
                result["requests"] = len(answers)
                result["bytes"] = sum(len(r.body()) for r in answers)
                return result

            first, incremental, idle_turn, sizes = [], [], [], []
            for run in range(args.runs):
                first.append(measure(True))
                rng = random.Random(1000 + run)
                for i in rng.sample(range(args.members), args.changed):
                    call(server.base, "PUT", "/v1/me/profile", profile(rng, i), credentials[i])
                incremental.append(measure(False))
                idle_turn.append(measure(False))
                if run == args.runs - 1:
                    sizes.append(page.evaluate(SIZES))
            browser.close()

        def line(name, results):
            med = lambda key: statistics.median(r[key] for r in results)  # noqa: E731
            runs = ", ".join(f"{r['syncMs']:.0f}" for r in results)
            print(f"{name}: {med('bytes') / 1e3:.1f} kB in {med('requests'):.0f} requests, {med('syncMs'):.0f} ms "
                  f"(changes applied: {med('changed'):.0f}; runs: {runs} ms)")
        line(f"first sync, {args.members + 1} profiles", first)
        line(f"incremental sync, {args.changed} profiles changed", incremental)
        line("incremental sync, nothing changed", idle_turn)
        last = first[-1]
        print(f"replica in IndexedDB: {sizes[0]['idb'] / 1e6:.2f} MB (Chromium's usage figure), {sizes[0]['json'] / 1e6:.2f} MB "
              f"as JSON; reopened from IndexedDB in {statistics.median(r['openMs'] for r in first):.0f} ms; one local search "
              f"(text, tag and filter over {last['members']} profiles) {statistics.median(r['searchMs'] for r in first):.1f} ms")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
