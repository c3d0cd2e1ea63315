// Browser side of Tests/web/run_vectors.py --swift-cross-check: the JavaScript module computes vector files
// in the Specs/vectors/ format from fresh random inputs, and the Swift CLI (`reciprocity vectors verify`)
// recomputes every case. The two implementations must agree beyond the fixed vectors: on random names,
// keys, roles and epochs, on notes sealed in the browser with random nonces and opened in Swift, on notes the
// writer seals with a given nonce (and notes too long to seal), on key logs, Merkle roots, tree heads signed in
// the browser (with sizes and timestamps beyond 2^53, and checked against random clocks), HKDF, X25519 and
// base64url of 32, 64 and 540 bytes; and conversations (conversation-crypto.js) scripted at random: sends of
// random sizes, envelopes read out of order, altered or replayed, every ratchet key random.

import * as conversation from "/web/conversation-crypto.js";
import * as core from "/web/reciprocity.js";
import * as transparency from "/web/transparency.js";

const r = { ...core, ...transparency };

const { toHex } = r;
const random = (n) => crypto.getRandomValues(new Uint8Array(n));
const below = (n) => crypto.getRandomValues(new Uint32Array(1))[0] % n;
const pick = (items) => items[below(items.length)];

function randomName() {
    const first = "abcdefghijklmnopqrstuvwxyz0123456789";
    const rest = first + "._-";
    let name = pick(first);
    for (let i = 0, n = 2 + below(62); i < n; i++) name += pick(rest); // 3 to 64 characters
    return name;
}

function randomNote() {
    // Mixed scripts and emoji, cut to at most 510 bytes of UTF-8 on a character boundary.
    const alphabet = ["a", "Z", " ", "é", "ß", "ж", "中", "👋", "\n", "\u0000", "\ufeff"];
    let note = "";
    for (let i = 0, n = below(200); i < n; i++) {
        const next = note + pick(alphabet);
        if (new TextEncoder().encode(next).length > r.NOTE_MAX_BYTES) break;
        note = next;
    }
    return note;
}

// `groups` is a list of tests (one group of type "random") or of `{type, tests}`; tcIds run 1..n across groups.
function file(algorithm, schema, groups) {
    const list = groups.every((g) => Array.isArray(g?.tests)) ? groups : [{ type: "random", tests: groups }];
    const tests = list.flatMap((g) => g.tests);
    tests.forEach((t, i) => Object.assign(t, { tcId: i + 1, comment: t.comment ?? "random, from reciprocity.js", flags: t.flags ?? [] }));
    return {
        algorithm, schema, generatorVersion: "web-cross-check", numberOfTests: tests.length,
        header: ["Computed in the browser by Sources/ReciprocityWeb/web/reciprocity.js from random inputs."],
        notes: {}, testGroups: list.map((g) => ({ type: g.type, comment: "random inputs", tests: g.tests })),
    };
}

async function side(pair, self, other, role) {
    const input = {
        program: pair.program, relation: pair.relation, epoch: pair.epoch, selfHandle: self.handle, selfRole: role,
        privateKey: self.privateKey, otherHandle: other.handle, otherPublicKey: other.publicKey,
    };
    return { input, mark: await r.deriveMark(input, { intermediates: true }) };
}

function tokenTest({ input, mark }) {
    return {
        program: input.program, relation: input.relation, epoch: input.epoch, selfHandle: input.selfHandle,
        selfRole: input.selfRole, selfPrivateKey: toHex(input.privateKey), otherHandle: input.otherHandle,
        otherPublicKey: toHex(input.otherPublicKey), selfPublicKey: toHex(mark.selfPublicKey), selfPosition: mark.selfPosition,
        sharedSecret: toHex(mark.sharedSecret), prk: toHex(mark.prk), tokenInfo: toHex(mark.tokenInfo),
        tagInfo1: toHex(mark.tagInfo1), tagInfo2: toHex(mark.tagInfo2), token: toHex(mark.token),
        tokenBase64url: r.base64urlEncode(mark.token), tag1: toHex(mark.tag1), tag2: toHex(mark.tag2), result: "valid",
    };
}

async function randomPair() {
    const member = async () => {
        const privateKey = random(32);
        return { handle: randomName(), privateKey, publicKey: await r.publicKeyOf(await r.importPrivateKey(privateKey)) };
    };
    const [a, b] = [await member(), await member()];
    while (a.handle === b.handle) b.handle = randomName();
    const relation = pick(["mentorship", "peer"]);
    const pair = { program: randomName(), relation, epoch: below(2 ** 32) };
    const [roleA, roleB] = relation === "peer" ? ["peer", "peer"] : pick([["mentor", "mentee"], ["mentee", "mentor"]]);
    return [await side(pair, a, b, roleA), await side(pair, b, a, roleB)];
}

/** Vector files (one per algorithm) computed by the module from random inputs. */
// One random conversation script, as the RECIPROCITY-MESSAGES-V1 format writes it, with the outputs this module
// computes: the Swift CLI must reach the same envelopes, payloads, refusals and ratchet-key uses.
async function randomConversation() {
    const members = [];
    for (let i = 0; i < 2; i++) {
        const privateKey = random(32);
        members.push({ handle: randomName(), privateKey: toHex(privateKey), publicKey: toHex(await r.publicKeyOf(await r.importPrivateKey(privateKey))) });
    }
    const test = {
        program: randomName(), epoch: pick([0, 1, below(2 ** 32), 2 ** 32 - 1]), token: toHex(random(32)), members,
        initialRatchetPrivateKey: toHex(random(32)), firstRatchetPrivateKey: toHex(random(32)), steps: [], result: "valid",
    };
    const sides = {};
    const start = async (i, key) => conversation.startConversation({
        program: test.program, epoch: test.epoch, token: r.fromHex(test.token), privateKey: await r.importPrivateKey(r.fromHex(members[i].privateKey)),
        handle: members[i].handle, peerHandle: members[1 - i].handle, peerPublicKey: r.fromHex(members[1 - i].publicKey),
    }, { ratchetKey: () => r.fromHex(key) });
    const zeroIsA = members[0].publicKey < members[1].publicKey;
    for (const [i, member] of members.entries()) {
        const started = await start(i, (i === 0) === zeroIsA ? test.firstRatchetPrivateKey : test.initialRatchetPrivateKey);
        sides[member.handle] = started.state;
        if (i === 0) Object.assign(test, { staticSharedSecret: toHex(started.staticSharedSecret), rootInfo: toHex(started.rootInfo), rootSecret: toHex(started.rootSecret) });
        if (started.side === "A") test.side = member.handle;
    }
    const inFlight = { [members[0].handle]: [], [members[1].handle]: [] };
    const delivered = [];
    for (let n = 0, steps = 10 + below(40); n < steps; n++) {
        const who = pick(members).handle;
        const peer = members.find((m) => m.handle !== who).handle;
        if (below(25) === 0) {
            // A restore: the member starts again with a new ratchet key and no state.
            const key = toHex(random(32));
            sides[who] = (await start(members.findIndex((m) => m.handle === who), key)).state;
            test.steps.push({ member: who, action: "start", ratchetPrivateKey: key });
            continue;
        }
        if (below(2) === 0 || inFlight[who].length === 0) {
            const count = 1 + below(3);
            const payload = "é".repeat(below(3) === 0 ? below(2047) : below(40));
            let sealed;
            for (let i = 0; i < count; i++) {
                sealed = await conversation.sealMessage(sides[who], payload);
                sides[who] = sealed.state;
            }
            inFlight[peer].push(sealed.envelope);
            test.steps.push({ member: who, action: "send", payload, ...(count > 1 ? { count } : {}), envelope: toHex(sealed.envelope),
                associatedData: toHex(sealed.associatedData), aeadKey: toHex(sealed.key), aeadNonce: toHex(sealed.nonce) });
            continue;
        }
        let envelope = inFlight[who].splice(below(inFlight[who].length), 1)[0];
        const kind = below(10);
        if (kind === 0) {
            envelope = envelope.slice();
            envelope[below(envelope.length)] ^= 1 << below(8);
        } else if (kind === 1 && delivered.length) {
            envelope = pick(delivered);
        }
        const step = { member: who, action: "receive", envelope: toHex(envelope) };
        try {
            const opened = await conversation.openMessage(sides[who], envelope, { ratchetKey: () => {
                const key = random(32);
                step.ratchetPrivateKey = toHex(key);
                return key;
            } });
            sides[who] = opened.state;
            step.payload = opened.payload;
            delivered.push(envelope);
        } catch (error) {
            if (!(error instanceof r.ReciprocityError)) throw error;
            step.error = error.code;
            test.result = "invalid";
            test.error ??= error.code;
        }
        test.steps.push(step);
    }
    return test;
}

export async function generate({ pairs = 100, logs = 10 } = {}) {
    const tokens = [];
    const notes = [];
    const seals = [];
    for (let i = 0; i < pairs; i++) {
        const [writer, reader] = await randomPair();
        if (toHex(writer.mark.token) !== toHex(reader.mark.token)) throw new Error("the two sides disagree in the browser");
        tokens.push(tokenTest(writer), tokenTest(reader));
        const note = randomNote();
        const sealed = await r.sealNote(writer.mark, note);
        const key = await r.deriveNoteKey(writer.mark, writer.mark.selfPosition);
        const t = tokenTest(reader);
        notes.push({
            program: t.program, relation: t.relation, epoch: t.epoch, selfHandle: t.selfHandle, selfRole: t.selfRole,
            selfPrivateKey: t.selfPrivateKey, otherHandle: t.otherHandle, otherPublicKey: t.otherPublicKey,
            sealed: toHex(sealed), token: t.token, writerNoteInfo: toHex(key.info), writerNoteKey: toHex(key.key),
            paddedPlaintext: toHex(r.padNote(note)), note, result: "valid",
        });
        // The writer's side (ReciprocityNoteSealTest): sealed here with a given nonce, resealed in Swift; every
        // fourth note is over 510 bytes of UTF-8 and must be noteTooLong in both.
        const w = tokenTest(writer);
        const sealTest = {
            program: w.program, relation: w.relation, epoch: w.epoch, selfHandle: w.selfHandle, selfRole: w.selfRole,
            selfPrivateKey: w.selfPrivateKey, otherHandle: w.otherHandle, otherPublicKey: w.otherPublicKey,
            nonce: toHex(random(12)),
        };
        if (i % 4 === 3) {
            const long = randomNote() + "€".repeat(171); // at least 513 bytes
            let code = "no error";
            try {
                await r.sealNote(writer.mark, long, { nonce: r.fromHex(sealTest.nonce) });
            } catch (error) {
                code = error?.code;
            }
            if (code !== "noteTooLong") throw new Error(`a note of ${new TextEncoder().encode(long).length} bytes sealed: ${code}`);
            seals.push({ ...sealTest, note: long, result: "invalid", error: "noteTooLong" });
        } else {
            const text = randomNote();
            const writerKey = await r.deriveNoteKey(writer.mark, writer.mark.selfPosition);
            seals.push({
                ...sealTest, note: text, token: w.token, writerNoteInfo: toHex(writerKey.info), writerNoteKey: toHex(writerKey.key),
                paddedPlaintext: toHex(r.padNote(text)), sealed: toHex(await r.sealNote(writer.mark, text, { nonce: r.fromHex(sealTest.nonce) })),
                result: "valid",
            });
        }
    }

    // Key logs: random joins, rotations and leaves that keep the directory rules; their roots; signed heads.
    const keyLogs = [];
    const merkle = [];
    const heads = [];
    const logKeys = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const logPublicKey = toHex(new Uint8Array(await crypto.subtle.exportKey("raw", logKeys.publicKey)));
    for (let i = 0; i < logs; i++) {
        const program = randomName();
        const directory = new r.KeyDirectory(program);
        const entries = [];
        for (let j = 0, n = below(40); j < n; j++) {
            const live = [...directory.live.entries()];
            const fresh = (await r.generateKeyPair()).publicKey;
            const [handle, key] = live.length ? pick(live) : [null, null];
            const entry = !live.length || below(3) === 0
                ? { event: "join", handle: randomName(), publicKey: fresh }
                : below(2) ? { event: "rotate", handle, publicKey: fresh } : { event: "leave", handle, publicKey: r.fromHex(key) };
            if (entry.event === "join" && directory.live.has(entry.handle)) continue;
            await directory.apply(entry);
            entries.push({ event: entry.event, handle: entry.handle, publicKey: toHex(entry.publicKey) });
        }
        const root = await directory.root();
        keyLogs.push({
            kind: "log", program, entries, leaves: directory.leaves.map(toHex), leafHashes: directory.leafHashes.map(toHex),
            root: toHex(root), result: "valid",
        });
        merkle.push({ kind: "root", leaves: directory.leaves.map(toHex), root: toHex(root), result: "valid" });
        const head = { program, treeSize: directory.size, rootHash: root, timestamp: Date.now() - below(10 ** 9), signature: null };
        head.signature = new Uint8Array(await crypto.subtle.sign("Ed25519", logKeys.privateKey, r.treeHeadMessage(head)));
        heads.push({ kind: "treeHead", program, root: toHex(root), logPublicKey, treeHead: r.treeHeadText(head), result: "valid" });
        // The same head checked against clocks: within the bounds (exact bounds included), then just past them.
        const at = (offset) => Number(head.timestamp) + offset;
        const clocks = [[at(below(86400001)), "valid"], [at(-below(300001)), "valid"], [at(86400000), "valid"], [at(-300000), "valid"],
            [at(86400001 + below(10 ** 9)), "staleHead"], [at(-300001 - below(10 ** 9)), "futureHead"]];
        const [now, expected] = pick(clocks);
        const checked = await r.verifyTreeHeadLine(r.treeHeadText(head), { program, logPublicKey: r.fromHex(logPublicKey), now }).then(() => "valid", (e) => e.code);
        if (checked !== expected) throw new Error(`a head at now = timestamp ${now - Number(head.timestamp)} ms: ${checked}, expected ${expected}`);
        heads.push(expected === "valid"
            ? { kind: "treeHead", program, root: toHex(root), logPublicKey, treeHead: r.treeHeadText(head), now, result: "valid" }
            : { kind: "treeHead", program, logPublicKey, treeHead: r.treeHeadText(head), now, result: "invalid", error: expected });
        // Sizes and timestamps beyond 2^53 (exact only as BigInts), up to 2^63 - 1 and 2^64 - 1.
        const randomBig = (bits) => BigInt("0x" + toHex(random(8))) >> BigInt(64 - bits);
        const big = { ...head, treeSize: pick([r.MAX_TREE_SIZE, randomBig(63)]), timestamp: pick([r.MAX_TIMESTAMP, randomBig(64)]) };
        big.signature = new Uint8Array(await crypto.subtle.sign("Ed25519", logKeys.privateKey, r.treeHeadMessage(big)));
        heads.push({ kind: "treeHead", program, root: toHex(root), logPublicKey, treeHead: r.treeHeadText(big), result: "valid" });
    }

    const hkdfTests = [];
    const x25519Tests = [];
    const base64Tests = [];
    for (let i = 0; i < 20; i++) {
        const [ikm, salt, info, size] = [random(1 + below(80)), random(below(80)), random(below(80)), 1 + below(255)];
        hkdfTests.push({ ikm: toHex(ikm), salt: toHex(salt), info: toHex(info), size, prk: toHex(await r.hkdfExtract(salt, ikm)), okm: toHex(await r.hkdf(ikm, salt, info, size)), result: "valid" });
        const [k, u] = [random(32), random(32)];
        u[31] &= 0x7f;
        x25519Tests.push({ private: toHex(k), public: toHex(u), shared: toHex(await r.x25519(await r.importPrivateKey(k), u)), result: "valid" });
        const bytes = random(32);
        base64Tests.push({ encoded: r.base64urlEncode(bytes), decoded: toHex(bytes), result: "valid" });
        // Signatures and sealed notes (byteCount 64 and 540), and a value of one length read as the other.
        const byteCount = pick([64, 540]);
        const other = random(byteCount);
        base64Tests.push({ byteCount, encoded: r.base64urlEncode(other), decoded: toHex(other), result: "valid" });
        base64Tests.push({ byteCount: byteCount === 64 ? 540 : 64, encoded: r.base64urlEncode(other), result: "invalid", error: "invalidEncoding" });
    }

    return {
        "web_token_test.json": file("RECIPROCITY-TOKEN-V1", "reciprocity_token_v1_test_schema.json", tokens),
        "web_note_test.json": file("RECIPROCITY-NOTE-V1", "reciprocity_note_v1_test_schema.json",
            [{ type: "ReciprocityNoteTest", tests: notes }, { type: "ReciprocityNoteSealTest", tests: seals }]),
        "web_key_log_test.json": file("RECIPROCITY-KEY-LOG-V1", "reciprocity_key_log_v1_test_schema.json", [...keyLogs, ...heads]),
        "web_merkle_test.json": file("MERKLE-RFC9162-SHA256", "merkle_rfc9162_test_schema.json", merkle),
        "web_hkdf_test.json": file("HKDF-SHA-256", "hkdf_test_schema.json", hkdfTests),
        "web_x25519_test.json": file("X25519", "xdh_comp_schema.json", x25519Tests),
        "web_base64url_test.json": file("BASE64URL-32", "base64url_test_schema.json", base64Tests),
        "web_messages_test.json": file("RECIPROCITY-MESSAGES-V1", "reciprocity_messages_v1_test_schema.json",
            [{ type: "ReciprocityConversationTest", tests: await Promise.all(Array.from({ length: 20 }, randomConversation)) }]),
    };
}
