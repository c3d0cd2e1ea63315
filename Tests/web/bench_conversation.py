#!/usr/bin/env python3
"""Conversation figures for the page (a benchmark, not a test): in headless Chromium, with the web folder's modules
as the server ships them (Specs/messages.md), milliseconds per message for `conversation-crypto.js`, called as the
members' app calls it (conversations.js: `encodePayload` of a text message, `sealMessage` of that text,
`openMessage` of the envelope), for the longest text of each padded size class (256, 1,024 and 4,096 bytes; a
text's JSON of 254, 1,022 and 4,025 bytes):

- on one chain (one side writes `--batch` messages, then the other reads them: KDF_CK, HKDF and ChaCha20-Poly1305
  per message);
- with the sides taking turns (every message starts a new chain: two X25519 and two KDF_RK more), the most a
  message costs;

against the baseline, measured in the same page in alternating rounds: one WebCrypto AES-GCM encrypt (and decrypt)
of the same padded bytes with a key already imported, the least any page can pay to encrypt a message; and, to
show where our time goes, chacha20poly1305.js's seal alone (the AEAD sealMessage runs, in JavaScript). Each
round times a batch of messages and divides (Chromium's clock is coarse, 0.1 ms, outside a cross-origin isolated
page); min, median and max are over the rounds; `ratio` is our median over the baseline's, and the ratio of the
minima follows it (steadier on a shared machine, as `reciprocity-bench derive` takes its best round).

Usage: Tests/web/bench_conversation.py [--chromium /usr/bin/chromium] [--batch 50] [--rounds 15]
"""

import argparse
import functools
import http.server
import statistics
import threading

from playwright.sync_api import sync_playwright

from run_vectors import HERE, StaticHandler

# One round: `batch` messages through our modules, then AES-GCM calls on the same bytes; ms per message.
ROUND = """async ({ batch, size, turns }) => {
    const c = await import("/web/conversation-crypto.js");
    const p = await import("/web/conversation-payload.js");
    const r = await import("/web/reciprocity.js");
    const aead = await import("/web/chacha20poly1305.js");
    const [x, y] = [await r.generateKeyPair(), await r.generateKeyPair()];
    const token = crypto.getRandomValues(new Uint8Array(32));
    const start = (me, peer, handle, peerHandle) => c.startConversation({ program: "bench", epoch: 0, token,
        privateKey: me.privateKey, handle, peerHandle, peerPublicKey: peer.publicKey });
    const sides = [(await start(x, y, "alice", "bob")).state, (await start(y, x, "bob", "alice")).state];
    // The largest text message of the size class (a text is at most 4,000 bytes, so the largest class is not full).
    const overhead = p.encodePayload({ type: "text", text: "x" }).length - 1;
    const text = p.encodePayload({ type: "text", text: "x".repeat(Math.min(size - 2 - overhead, 4000)) });
    const padded = c.padPayload(new TextEncoder().encode(text));
    if (padded.length !== size) throw new Error(`the text is not of the ${size}-byte class`);
    let seal = 0, open = 0, t;
    if (turns) {
        for (let i = 0; i < batch; i++) {
            const from = i % 2;
            t = performance.now();
            const sealed = await c.sealMessage(sides[from], text);
            seal += performance.now() - t;
            sides[from] = sealed.state;
            t = performance.now();
            const opened = await c.openMessage(sides[1 - from], sealed.envelope);
            open += performance.now() - t;
            if (opened.payload !== text) throw new Error("the message did not open to its text");
            sides[1 - from] = opened.state;
        }
    } else {
        const envelopes = [];
        t = performance.now();
        for (let i = 0; i < batch; i++) {
            const sealed = await c.sealMessage(sides[0], text);
            sides[0] = sealed.state;
            envelopes.push(sealed.envelope);
        }
        seal = performance.now() - t;
        const texts = [];
        t = performance.now();
        for (const envelope of envelopes) {
            const opened = await c.openMessage(sides[1], envelope);
            sides[1] = opened.state;
            texts.push(opened.payload);
        }
        open = performance.now() - t;
        if (!texts.every((got) => got === text)) throw new Error("a message did not open to its text");
    }
    // The baseline's calls take about 10 µs: ten times as many are timed, so the clock's 0.1 ms stays below 1 %.
    const key = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), "AES-GCM", false,
        ["encrypt", "decrypt"]);
    const sealedBaseline = [];
    t = performance.now();
    for (let i = 0; i < 10 * batch; i++) {
        const iv = crypto.getRandomValues(new Uint8Array(12));
        sealedBaseline.push([iv, await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, padded)]);
    }
    const encrypt = performance.now() - t;
    t = performance.now();
    for (const [iv, sealed] of sealedBaseline) await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
    const decrypt = performance.now() - t;
    // Where our time goes: chacha20poly1305.js alone (the AEAD sealMessage calls once) on the same bytes.
    const aeadKey = crypto.getRandomValues(new Uint8Array(32)), nonce = crypto.getRandomValues(new Uint8Array(12));
    t = performance.now();
    for (let i = 0; i < batch; i++) aead.seal(aeadKey, nonce, padded);
    const chacha = performance.now() - t;
    return { seal: seal / batch, open: open / batch, encrypt: encrypt / (10 * batch), decrypt: decrypt / (10 * batch),
        chacha: chacha / batch };
}"""


def spread(values):
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--batch", type=int, default=50, help="messages timed together in one round")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    if args.batch < 2 or args.rounds < 1:
        parser.error("--batch must be at least 2 and --rounds at least 1")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(StaticHandler, directory=str(HERE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
            print(f"ms per message, min / median / max over {args.rounds} rounds of {args.batch} messages")
            for turns in (False, True):
                for size in (256, 1024, 4096):
                    page.evaluate(ROUND, {"batch": args.batch, "size": size, "turns": turns})  # warm-up
                    runs = [page.evaluate(ROUND, {"batch": args.batch, "size": size, "turns": turns})
                            for _ in range(args.rounds)]
                    figures = {name: [run[name] for run in runs] for name in runs[0]}
                    median = {name: statistics.median(values) for name, values in figures.items()}
                    best = {name: min(values) for name, values in figures.items()}
                    what = "sides taking turns (a new chain a message)" if turns else "one chain"
                    print(f"{size}-byte class, {what}:")
                    for ours, theirs, label in (("seal", "encrypt", "sealMessage"), ("open", "decrypt", "openMessage")):
                        print(f"  {label} {spread(figures[ours])}; AES-GCM {theirs} {spread(figures[theirs])}; "
                              f"ratio {median[ours] / median[theirs]:.1f} (minima: {best[ours] / best[theirs]:.1f})")
                    print(f"  of which chacha20poly1305.js seal {spread(figures['chacha'])}")
            browser.close()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
