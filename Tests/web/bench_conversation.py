#!/usr/bin/env python3
"""Conversation figures for the page (a benchmark, not a test): in headless Chromium, with conversation-crypto.js
as the server ships it (Specs/messages.md),

- milliseconds to seal and to open one message on a chain (one side writes, the other reads: KDF_CK, HKDF and
  ChaCha20-Poly1305 per message);
- milliseconds per message when the sides take turns (every message starts a new chain: two X25519 and two
  KDF_RK more), the most a message costs;

for the smallest (256-byte) and largest (4,096-byte) size class. Prints medians of 5 runs.

Usage: Tests/web/bench_conversation.py [--chromium /usr/bin/chromium] [--messages 200]
"""

import argparse
import functools
import http.server
import statistics
import threading

from playwright.sync_api import sync_playwright

from run_vectors import HERE, StaticHandler

MEASURE = """async ({ count, size, turns }) => {
    const c = await import("/web/conversation-crypto.js");
    const r = await import("/web/reciprocity.js");
    const [x, y] = [await r.generateKeyPair(), await r.generateKeyPair()];
    const token = crypto.getRandomValues(new Uint8Array(32));
    const start = (me, peer, handle, peerHandle) => c.startConversation({ program: "bench", epoch: 0, token,
        privateKey: me.privateKey, handle, peerHandle, peerPublicKey: peer.publicKey });
    let sides = [(await start(x, y, "alice", "bob")).state, (await start(y, x, "bob", "alice")).state];
    const payload = "x".repeat(size);
    let sealing = 0, opening = 0;
    for (let i = 0; i < count; i++) {
        const from = turns ? i % 2 : 0;
        let t = performance.now();
        const sealed = await c.sealMessage(sides[from], payload);
        sealing += performance.now() - t;
        sides[from] = sealed.state;
        t = performance.now();
        const opened = await c.openMessage(sides[1 - from], sealed.envelope);
        opening += performance.now() - t;
        sides[1 - from] = opened.state;
    }
    return [sealing / count, opening / count];
}"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StaticHandler, directory=str(HERE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            for size in (200, 4000):
                for turns in (False, True):
                    runs = [page.evaluate(MEASURE, {"count": args.messages, "size": size, "turns": turns})
                            for _ in range(5)]
                    seal = statistics.median(run[0] for run in runs)
                    open_ = statistics.median(run[1] for run in runs)
                    what = "sides taking turns (a new chain per message)" if turns else "one chain"
                    print(f"conversation-crypto.js, {size}-byte payload, {what}: seal {seal:.2f} ms, "
                          f"open {open_:.2f} ms per message (medians of 5 runs of {args.messages})")
            browser.close()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
