// Browser side of Tests/web/run_vectors.py: what reciprocity.js must do beyond the fixed vectors, with fresh
// WebCrypto keys: non-extractable private keys, both sides of a mark agreeing, notes sealed by one member
// and opened by the other, dummy marks, and every error code of the client's key-log checks
// (Specs/transparency.md section 5, with the head rules of section 3: strict sizes, freshness both ways)
// against a log signed here with a fresh Ed25519 key.

import * as conversation from "/web/conversation-crypto.js";
import * as core from "/web/reciprocity.js";
import * as transparency from "/web/transparency.js";

const r = { ...core, ...transparency };

const { toHex } = r;
const subtle = crypto.subtle;

async function codeOf(promiseOrFn) {
    try {
        await (typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn);
        return "no error";
    } catch (error) {
        return error instanceof r.ReciprocityError ? error.code : `${error?.name}: ${error?.message}`;
    }
}

// RFC 9162 section 2.1.3.1 PATH(m, D[n]) and section 2.1.4.1 PROOF(m, D[n]), to produce proofs to verify.
function split(n) {
    let k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}
async function path(m, hashes) {
    if (hashes.length <= 1) return [];
    const k = split(hashes.length);
    return m < k
        ? [...(await path(m, hashes.slice(0, k))), await r.merkleRoot(hashes.slice(k))]
        : [...(await path(m - k, hashes.slice(k))), await r.merkleRoot(hashes.slice(0, k))];
}
async function subproof(m, hashes, complete) {
    if (m === hashes.length) return complete ? [] : [await r.merkleRoot(hashes)];
    const k = split(hashes.length);
    return m <= k
        ? [...(await subproof(m, hashes.slice(0, k), complete)), await r.merkleRoot(hashes.slice(k))]
        : [...(await subproof(m - k, hashes.slice(k), false)), await r.merkleRoot(hashes.slice(0, k))];
}

/** Runs every check: `[{id, ok, reason}]`. */
export async function run() {
    const results = [];
    const check = async (id, body) => {
        try {
            const reason = await body();
            results.push({ id, ok: reason === true, reason: reason === true ? null : String(reason) });
        } catch (error) {
            results.push({ id, ok: false, reason: `crashed: ${error?.name}: ${error?.message}` });
        }
    };
    const same = (a, b) => toHex(a) === toHex(b);

    const alice = await r.generateKeyPair();
    const bob = await r.generateKeyPair();
    const carol = await r.generateKeyPair();
    const base = { program: "acme-mentoring", epoch: 7 };

    await check("a generated private key is non-extractable and exports nothing", async () => {
        if (alice.privateKey.extractable) return "extractable";
        for (const format of ["pkcs8", "jwk"]) {
            if ((await codeOf(subtle.exportKey(format, alice.privateKey))) === "no error") return `exportKey(${format}) worked`;
        }
        return true;
    });
    await check("publicKeyOf (X25519(k, 9) by deriveBits) equals the generated public key", async () =>
        same(await r.publicKeyOf(alice.privateKey), alice.publicKey) || "differs");

    await check("X25519 with a small-order point is lowOrderPublicKey even without the key check", async () => {
        const points = ["00", "01", "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"];
        for (const hex of points) {
            const u = new Uint8Array(32);
            u.set(r.fromHex(hex));
            const got = await codeOf(r.x25519(alice.privateKey, u));
            if (got !== "lowOrderPublicKey") return `${hex}: ${got}`;
        }
        return true;
    });

    const aliceMentorsBob = await r.deriveMark({ ...base, relation: "mentorship", selfHandle: "alice", selfRole: "mentor",
        privateKey: alice.privateKey, otherHandle: "bob", otherPublicKey: bob.publicKey });
    const bobMenteeOfAlice = await r.deriveMark({ ...base, relation: "mentorship", selfHandle: "bob", selfRole: "mentee",
        privateKey: bob.privateKey, otherHandle: "alice", otherPublicKey: alice.publicKey });
    await check("mentor and mentee derive the same token and swapped tags", async () => {
        if (!same(aliceMentorsBob.token, bobMenteeOfAlice.token)) return "tokens differ";
        if (aliceMentorsBob.selfPosition !== 1 || bobMenteeOfAlice.selfPosition !== 2) return "positions";
        if (!r.verifyMatchTag(aliceMentorsBob, bobMenteeOfAlice.ownTag)) return "alice rejects bob's tag";
        if (!r.verifyMatchTag(bobMenteeOfAlice, aliceMentorsBob.ownTag)) return "bob rejects alice's tag";
        return true;
    });
    await check("a tag off by one bit, or one's own tag, is not a match", async () => {
        const forged = bobMenteeOfAlice.ownTag.slice();
        forged[31] ^= 1;
        return (!r.verifyMatchTag(aliceMentorsBob, forged) && !r.verifyMatchTag(aliceMentorsBob, aliceMentorsBob.ownTag)) || "accepted";
    });
    await check("a mark's JSON carries no secret", async () => {
        const json = JSON.stringify(aliceMentorsBob);
        return (!/sharedSecret|prk|ikm|noteKey/.test(json) && Object.keys(aliceMentorsBob).every((k) => k !== "sharedSecret")) || json;
    });
    await check("both peers derive one token from opposite positions", async () => {
        const a = await r.deriveMark({ ...base, relation: "peer", selfHandle: "alice", selfRole: "peer", privateKey: alice.privateKey, otherHandle: "bob", otherPublicKey: bob.publicKey });
        const b = await r.deriveMark({ ...base, relation: "peer", selfHandle: "bob", selfRole: "peer", privateKey: bob.privateKey, otherHandle: "alice", otherPublicKey: alice.publicKey });
        return (same(a.token, b.token) && a.selfPosition + b.selfPosition === 3 && r.verifyMatchTag(a, b.ownTag)) || "peers disagree";
    });
    await check("epoch, program, relation and roles each change the token", async () => {
        const input = { ...base, relation: "mentorship", selfHandle: "alice", selfRole: "mentor", privateKey: alice.privateKey, otherHandle: "bob", otherPublicKey: bob.publicKey };
        const variants = [{ epoch: 8 }, { program: "acme-mentoring2" }, { relation: "peer", selfRole: "peer" }, { selfRole: "mentee" }];
        for (const change of variants) {
            const other = await r.deriveMark({ ...input, ...change });
            if (same(other.token, aliceMentorsBob.token)) return `same token with ${JSON.stringify(change)}`;
        }
        return true;
    });
    await check("input errors carry the spec's codes", async () => {
        const input = { ...base, relation: "mentorship", selfHandle: "alice", selfRole: "mentor", privateKey: alice.privateKey, otherHandle: "bob", otherPublicKey: bob.publicKey };
        const cases = [
            [{ selfHandle: "Alice" }, "invalidHandle"], [{ otherHandle: "bo" }, "invalidHandle"], [{ program: "-x-y" }, "invalidProgram"],
            [{ relation: "friendship" }, "invalidRole"], [{ selfRole: "peer" }, "invalidRole"], [{ otherHandle: "alice" }, "selfMark"],
            [{ otherPublicKey: alice.publicKey }, "selfMark"], [{ otherPublicKey: bob.publicKey.subarray(1) }, "invalidLength"],
            [{ epoch: 2 ** 32 }, "invalidEpoch"], [{ epoch: -1 }, "invalidEpoch"],
        ];
        for (const [change, code] of cases) {
            const got = await codeOf(r.deriveMark({ ...input, ...change }));
            if (got !== code) return `${JSON.stringify(change)}: ${got}, expected ${code}`;
        }
        return true;
    });

    await check("a note sealed by one member opens for the other, and only for them", async () => {
        const text = "Hi Bob 👋 — ich würde gern von dir lernen.";
        const sealed = await r.sealNote(aliceMentorsBob, text);
        if (sealed.length !== 540) return `sealed length ${sealed.length}`;
        if ((await r.openNote(bobMenteeOfAlice, sealed)) !== text) return "bob reads another text";
        if ((await codeOf(r.openNote(aliceMentorsBob, sealed))) !== "noteAuthenticationFailed") return "the writer's own role key opened it";
        const carolMark = await r.deriveMark({ ...base, relation: "mentorship", selfHandle: "carol", selfRole: "mentee", privateKey: carol.privateKey, otherHandle: "alice", otherPublicKey: alice.publicKey });
        return (await codeOf(r.openNote(carolMark, sealed))) === "noteAuthenticationFailed" || "carol opened it";
    });
    await check("every byte of a sealed note is authenticated; wrong sizes are invalidLength", async () => {
        const sealed = await r.sealNote(bobMenteeOfAlice, "");
        if ((await r.openNote(aliceMentorsBob, sealed)) !== "") return "the empty note does not round-trip";
        const bom = "\ufeffa note that starts with a byte-order mark";
        if ((await r.openNote(aliceMentorsBob, await r.sealNote(bobMenteeOfAlice, bom))) !== bom) return "a leading U+FEFF is lost";
        for (const index of [0, 11, 12, 300, 523, 524, 539]) {
            const tampered = sealed.slice();
            tampered[index] ^= 0x80;
            if ((await codeOf(r.openNote(aliceMentorsBob, tampered))) !== "noteAuthenticationFailed") return `byte ${index} not authenticated`;
        }
        for (const size of [0, 539, 541]) {
            const wrong = new Uint8Array(size);
            wrong.set(sealed.subarray(0, Math.min(size, 540)));
            if ((await codeOf(r.openNote(aliceMentorsBob, wrong))) !== "invalidLength") return `size ${size} not invalidLength`;
        }
        return true;
    });
    await check("notes up to 510 bytes of UTF-8 seal, 511 are noteTooLong, each sealing has a fresh nonce", async () => {
        const longest = "é".repeat(255);
        const a = await r.sealNote(aliceMentorsBob, longest);
        const b = await r.sealNote(aliceMentorsBob, longest);
        if (same(a.subarray(0, 12), b.subarray(0, 12)) || same(a, b)) return "two sealings share a nonce";
        if ((await r.openNote(bobMenteeOfAlice, b)) !== longest) return "the 510-byte note does not round-trip";
        return (await codeOf(r.sealNote(aliceMentorsBob, longest + "x"))) === "noteTooLong" || "511 bytes accepted";
    });
    await check("sealNote with a given nonce: that nonce, deterministic, opens for the reader; not 12 bytes is invalidLength", async () => {
        const nonce = crypto.getRandomValues(new Uint8Array(12));
        const a = await r.sealNote(aliceMentorsBob, "fixed", { nonce });
        const b = await r.sealNote(aliceMentorsBob, "fixed", { nonce });
        if (!same(a.subarray(0, 12), nonce) || !same(a, b)) return "the given nonce is not used";
        if ((await r.openNote(bobMenteeOfAlice, a)) !== "fixed") return "does not open";
        const codes = [await codeOf(r.sealNote(aliceMentorsBob, "x", { nonce: new Uint8Array(11) })), await codeOf(r.sealNote(aliceMentorsBob, "x", { nonce: new Uint8Array(13) }))];
        return codes.every((c) => c === "invalidLength") || codes.join(", ");
    });
    await check("dummy marks are fresh random values of the real sizes", async () => {
        const [a, b] = [r.dummyMark(), r.dummyMark()];
        return (a.token.length === 32 && a.tag.length === 32 && a.note.length === 540 && !same(a.token, b.token) && !same(a.note, b.note)) || "sizes";
    });
    await check("base64url round-trips every length and matches the standard alphabet", async () => {
        for (let n = 0; n <= 40; n++) {
            const bytes = crypto.getRandomValues(new Uint8Array(n));
            const text = r.base64urlEncode(bytes);
            const standard = btoa(String.fromCharCode(...bytes)).replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
            if (text !== standard) return `length ${n}: ${text} != ${standard}`;
            if (!same(r.base64urlDecode(text, n), bytes)) return `length ${n} does not decode`;
        }
        return true;
    });
    await check("a fingerprint is eight groups of four hex digits, the same for the same key", async () => {
        const f = await r.fingerprint(alice.publicKey);
        return (/^[0-9a-f]{4}( [0-9a-f]{4}){7}$/.test(f) && f === (await r.fingerprint(alice.publicKey.slice())) && f !== (await r.fingerprint(bob.publicKey))) || f;
    });

    // --- key transparency: a log of four entries signed with a fresh Ed25519 key ---------------------------
    const program = "acme-mentoring";
    const logKeys = await subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const logPublicKey = new Uint8Array(await subtle.exportKey("raw", logKeys.publicKey));
    const otherLog = await subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
    const sign = async (size, rootHash, timestamp, key = logKeys.privateKey, forProgram = program) => {
        const head = { program: forProgram, treeSize: size, rootHash, timestamp, signature: new Uint8Array(64) };
        head.signature = new Uint8Array(await subtle.sign("Ed25519", key, r.treeHeadMessage(head)));
        return head;
    };
    const directory = new r.KeyDirectory(program);
    const entries = [
        { event: "join", handle: "alice", publicKey: alice.publicKey },
        { event: "join", handle: "bob", publicKey: bob.publicKey },
        { event: "join", handle: "carol", publicKey: carol.publicKey },
    ];
    const rotated = (await r.generateKeyPair()).publicKey;
    for (const entry of entries) await directory.apply(entry);
    const now = Date.now();
    const head3 = await sign(3, await directory.root(), now - 1000);
    await directory.apply({ event: "rotate", handle: "bob", publicKey: rotated });
    const head4 = await sign(4, await directory.root(), now);
    const consistencyProof = async (from, to) => subproof(from, directory.leafHashes.slice(0, to), true);
    const options = { program, logPublicKey, consistencyProof, now };
    const proofFor = async (index, size) => ({
        leafIndex: index, event: index === 3 ? "rotate" : "join",
        inclusionProof: (await path(index, directory.leafHashes.slice(0, size))).map(r.base64urlEncode),
    });

    await check("a signed head survives its gossip line and its JSON form", async () => {
        const line = r.treeHeadText(head4);
        const json = { program, treeSize: 4, rootHash: r.base64urlEncode(head4.rootHash), timestamp: head4.timestamp, signature: r.base64urlEncode(head4.signature) };
        return (r.treeHeadText(r.parseTreeHead(line)) === line && r.treeHeadText(r.treeHeadFromJSON(json)) === line && (await r.verifyTreeHead(r.treeHeadFromJSON(json), logPublicKey))) || "round trip";
    });
    await check("a fresh head extending the verified one is accepted, and the newer is kept", async () => {
        const kept = await r.checkTreeHead(head4, { ...options, previous: head3 });
        const first = await r.checkTreeHead(head3, options);
        return (kept === head4 && first === head3) || "wrong head kept";
    });
    await check("log-signature: a head signed by another key, or with a changed field", async () => {
        const foreign = await sign(4, head4.rootHash, now, otherLog.privateKey);
        const changed = { ...head4, treeSize: 5 };
        const codes = [await codeOf(r.checkTreeHead(foreign, options)), await codeOf(r.checkTreeHead(changed, options))];
        return codes.every((c) => c === "log-signature") || codes.join(", ");
    });
    await check("log-invalid-head: a head for another program", async () =>
        (await codeOf(r.checkTreeHead(await sign(4, head4.rootHash, now, logKeys.privateKey, "other-program"), options))) === "log-invalid-head" || "accepted");
    await check("log-stale-head: a head over 24 hours old; 23 hours is fine", async () => {
        const hour = 3600 * 1000;
        const stale = await codeOf(r.checkTreeHead(await sign(4, head4.rootHash, now - 24 * hour - 1000), options));
        const fine = await codeOf(r.checkTreeHead(await sign(4, head4.rootHash, now - 23 * hour), options));
        return (stale === "log-stale-head" && fine === "no error") || `${stale}, ${fine}`;
    });
    await check("log-future-head: a head over 5 minutes ahead of the clock; 4 minutes ahead is fine", async () => {
        const minute = 60 * 1000;
        const ahead = await codeOf(r.checkTreeHead(await sign(4, head4.rootHash, now + 5 * minute + 1), options));
        const yearAhead = await codeOf(r.checkTreeHead(await sign(4, head4.rootHash, now + 365 * 24 * 60 * minute), options));
        const fine = await codeOf(r.checkTreeHead(await sign(4, head4.rootHash, now + 4 * minute), options));
        return (ahead === "log-future-head" && yearAhead === "log-future-head" && fine === "no error") || `${ahead}, ${yearAhead}, ${fine}`;
    });
    await check("freshness applies to every served head, also the one already held", async () => {
        const later = now + 25 * 3600 * 1000;
        const held = await r.checkTreeHead(head4, { ...options, previous: head3 });
        const again = await codeOf(r.checkTreeHead(held, { ...options, previous: held, now: later }));
        return again === "log-stale-head" || again;
    });
    await check("sizes and timestamps are exact BigInts; a size above 2^63 - 1 is refused (line, JSON, client check)", async () => {
        const max = await sign(9223372036854775807n, head4.rootHash, 18446744073709551615n);
        const line = r.treeHeadText(max);
        const parsed = await r.verifyTreeHeadLine(line, { program, logPublicKey });
        if (parsed.treeSize !== 2n ** 63n - 1n || parsed.timestamp !== 2n ** 64n - 1n || r.treeHeadText(parsed) !== line) return "2^63 - 1 / 2^64 - 1 not exact";
        const json = { program, treeSize: 2n ** 63n - 1n, rootHash: r.base64urlEncode(head4.rootHash), timestamp: head4.timestamp, signature: r.base64urlEncode(head4.signature) };
        const tooLarge = await sign(2n ** 63n, head4.rootHash, now);
        const codes = [
            await codeOf(() => r.parseTreeHead(line.replace(" 9223372036854775807 ", " 9223372036854775808 "))),
            await codeOf(() => r.treeHeadFromJSON({ ...json, treeSize: 2n ** 63n })),
            await codeOf(() => r.treeHeadFromJSON({ ...json, treeSize: 2 ** 53 })), // not exact as a Number
            await codeOf(() => r.treeHeadFromJSON({ ...json, treeSize: -1 })),
            await codeOf(() => r.treeHeadFromJSON({ ...json, timestamp: 2n ** 64n })),
            await codeOf(r.checkTreeHead(tooLarge, options)),
            await codeOf(r.checkTreeHead({ ...head4, treeSize: 2n ** 63n }, options)),
        ];
        const expected = ["invalidEncoding", "invalidEncoding", "invalidEncoding", "invalidEncoding", "invalidEncoding", "log-invalid-head", "log-invalid-head"];
        if (r.treeHeadFromJSON(json).treeSize !== 2n ** 63n - 1n) return "JSON BigInt size";
        return JSON.stringify(codes) === JSON.stringify(expected) || codes.join(", ");
    });
    await check("gossiped heads: age is not checked (maxAgeMs: Infinity), the future is", async () => {
        const old = r.treeHeadText(await sign(4, head4.rootHash, now - 365 * 24 * 3600 * 1000));
        const future = r.treeHeadText(await sign(4, head4.rootHash, now + 3600 * 1000));
        const gossip = { program, logPublicKey, now, maxAgeMs: Infinity };
        const codes = [
            await codeOf(r.verifyTreeHeadLine(old, gossip)),
            await codeOf(r.verifyTreeHeadLine(future, gossip)),
            await codeOf(r.verifyTreeHeadLine(old, { program, logPublicKey, now })),
            await codeOf(r.verifyTreeHeadLine(old + "\n", gossip)),
        ];
        return JSON.stringify(codes) === JSON.stringify(["no error", "futureHead", "staleHead", "invalidEncoding"]) || codes.join(", ");
    });
    await check("log-rollback: a smaller tree than the one verified", async () =>
        (await codeOf(r.checkTreeHead(head3, { ...options, previous: head4 }))) === "log-rollback" || "accepted");
    await check("log-fork: another root at the same size, a bad proof, or no proof", async () => {
        const otherRoot = await sign(4, head3.rootHash, now);
        const codes = [
            await codeOf(r.checkTreeHead(otherRoot, { ...options, previous: head4 })),
            await codeOf(r.checkTreeHead(head4, { ...options, previous: head3, consistencyProof: async () => [head3.rootHash] })),
            await codeOf(r.checkTreeHead(head4, { ...options, previous: head3, consistencyProof: async () => null })),
        ];
        return codes.every((c) => c === "log-fork") || codes.join(", ");
    });
    await check("every member's latest key is proven in the log", async () => {
        const members = [["alice", alice.publicKey, 0], ["bob", rotated, 3], ["carol", carol.publicKey, 2]];
        for (const [handle, publicKey, index] of members) {
            const key = await r.checkKeyInclusion({ program, handle, publicKey: r.base64urlEncode(publicKey), keyProof: await proofFor(index, 4), head: head4 });
            if (!same(key, publicKey)) return `${handle}'s key`;
        }
        return true;
    });
    await check("log-inclusion: a substituted key, another handle, a leave, or a wrong index; log-missing-proof", async () => {
        const attempts = [
            { handle: "bob", publicKey: (await r.generateKeyPair()).publicKey, keyProof: await proofFor(3, 4) },
            { handle: "bob", publicKey: bob.publicKey, keyProof: await proofFor(1, 4), head: head4 }, // old key, rotated away: its leaf is a join, still in the log
            { handle: "dave", publicKey: carol.publicKey, keyProof: await proofFor(2, 4) },
            { handle: "carol", publicKey: carol.publicKey, keyProof: { ...(await proofFor(2, 4)), event: "leave" } },
            { handle: "carol", publicKey: carol.publicKey, keyProof: { ...(await proofFor(2, 4)), leafIndex: 1 } },
            { handle: "carol", publicKey: carol.publicKey, keyProof: { ...(await proofFor(2, 4)), inclusionProof: ["AAAA"] } },
        ];
        const codes = [];
        for (const attempt of attempts) codes.push(await codeOf(r.checkKeyInclusion({ program, head: head4, ...attempt })));
        // The rotated-away key is still included (the log proves history, not liveness: Specs/transparency.md section 8).
        const expected = ["log-inclusion", "no error", "log-inclusion", "log-inclusion", "log-inclusion", "log-inclusion"];
        // A real leave entry is in the log, but proves no live key.
        const left = new r.KeyDirectory(program);
        for (const entry of [...entries, { event: "leave", handle: "carol", publicKey: carol.publicKey }]) await left.apply(entry);
        const headWithLeave = await sign(4, await left.root(), now);
        const leaveProof = { leafIndex: 3, event: "leave", inclusionProof: (await path(3, left.leafHashes)).map(r.base64urlEncode) };
        codes.push(await codeOf(r.checkKeyInclusion({ program, handle: "carol", publicKey: carol.publicKey, keyProof: leaveProof, head: headWithLeave })));
        expected.push("log-inclusion");
        const missing = await codeOf(r.checkKeyInclusion({ program, handle: "carol", publicKey: carol.publicKey, keyProof: undefined, head: head4 }));
        return (JSON.stringify(codes) === JSON.stringify(expected) && missing === "log-missing-proof") || `${codes.join(", ")}; ${missing}`;
    });
    await check("the directory rules hold on replay (rotate to the same key, two live keys for one handle)", async () => {
        const d = new r.KeyDirectory(program);
        await d.apply({ event: "join", handle: "alice", publicKey: alice.publicKey });
        const codes = [
            await codeOf(d.apply({ event: "rotate", handle: "alice", publicKey: alice.publicKey })),
            await codeOf(d.apply({ event: "join", handle: "alice", publicKey: bob.publicKey })),
            await codeOf(d.apply({ event: "join", handle: "bob", publicKey: alice.publicKey })),
            await codeOf(d.apply({ event: "leave", handle: "alice", publicKey: bob.publicKey })),
        ];
        return (codes.every((c) => c === "invalidLogEntry") && d.size === 1) || `${codes.join(", ")}, size ${d.size}`;
    });
    // conversation-crypto.js (Specs/messages.md) beyond its vectors, with non-extractable static keys.
    const token = crypto.getRandomValues(new Uint8Array(32));
    const start = (me, peer, handle, peerHandle, overrides = {}) => conversation.startConversation({
        program: "acme", epoch: 3, token, privateKey: me.privateKey, handle, peerHandle, peerPublicKey: peer.publicKey, ...overrides,
    });
    await check("a conversation: size classes, the longest message, and messageTooLong one byte over", async () => {
        let a = (await start(alice, bob, "alice", "bob")).state;
        let b = (await start(bob, alice, "bob", "alice")).state;
        const lengths = [];
        for (const size of [0, 254, 255, 1022, 1023, 4094]) {
            const sealed = await conversation.sealMessage(a, "x".repeat(size));
            a = sealed.state;
            lengths.push(sealed.envelope.length);
            const opened = await conversation.openMessage(b, sealed.envelope);
            if (opened.payload.length !== size) return `payload of ${size} came back as ${opened.payload.length}`;
            b = opened.state;
        }
        const tooLong = await codeOf(conversation.sealMessage(a, "x".repeat(4095)));
        return (lengths.join() === "313,313,1081,1081,4153,4153" && tooLong === "messageTooLong") || `${lengths}; ${tooLong}`;
    });
    await check("a refused envelope leaves the state as it was, and a state is never changed in place", async () => {
        const a = (await start(alice, bob, "alice", "bob")).state;
        const b = (await start(bob, alice, "bob", "alice")).state;
        const snapshot = JSON.stringify(b, (_, v) => (v instanceof Uint8Array ? toHex(v) : v));
        const sealed = await conversation.sealMessage(a, "hello");
        const altered = sealed.envelope.slice();
        altered[200] ^= 1;
        const codes = [await codeOf(conversation.openMessage(b, altered)), await codeOf(conversation.openMessage(a, sealed.envelope))];
        const opened = await conversation.openMessage(b, sealed.envelope);
        const again = await codeOf(conversation.openMessage(opened.state, sealed.envelope));
        const unchanged = JSON.stringify(b, (_, v) => (v instanceof Uint8Array ? toHex(v) : v)) === snapshot;
        return (codes.join() === "messageAuthenticationFailed,messageWrongSide" && opened.payload === "hello"
            && again === "messageReplayed" && unchanged) || `${codes}, ${opened.payload}, ${again}, unchanged ${unchanged}`;
    });
    await check("a second start of side A (a restore) repeats no AEAD key or nonce, and B reads both starts", async () => {
        const isA = (await start(alice, bob, "alice", "bob")).side === "A";
        const [me, peer, handle, peerHandle] = isA ? [alice, bob, "alice", "bob"] : [bob, alice, "bob", "alice"];
        let b = (await start(peer, me, peerHandle, handle)).state;
        const seen = new Set();
        const read = [];
        for (let round = 0; round < 2; round++) {
            let a = (await start(me, peer, handle, peerHandle)).state;
            for (let i = 0; i < 3; i++) {
                const sealed = await conversation.sealMessage(a, `start ${round} message ${i}`);
                a = sealed.state;
                seen.add(toHex(sealed.key)).add(toHex(sealed.nonce));
                const opened = await conversation.openMessage(b, sealed.envelope);
                b = opened.state;
                read.push(opened.payload);
            }
        }
        return (seen.size === 12 && read.length === 6 && b.firstChains.length === 2) || `${seen.size} distinct, ${read}`;
    });
    await check("a conversation refuses a bad epoch, program, handle, token or a member with itself", async () => {
        const codes = [
            await codeOf(start(alice, bob, "alice", "bob", { epoch: 2 ** 32 })),
            await codeOf(start(alice, bob, "alice", "bob", { program: "Acme" })),
            await codeOf(start(alice, bob, "alice", "bob ")),
            await codeOf(start(alice, bob, "alice", "bob", { token: new Uint8Array(31) })),
            await codeOf(start(alice, alice, "alice", "bob")),
        ];
        return codes.join() === "invalidEpoch,invalidProgram,invalidHandle,invalidLength,selfMark" || codes.join();
    });
    return results;
}
