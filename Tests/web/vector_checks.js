// Browser side of Tests/web/run_vectors.py: checks every case of a Specs/vectors/ file, and RFC 8439's own
// test vectors, with the web modules exactly as the server ships them. Each check returns a list of
// `{id, ok, reason}`; the Python runner counts them and decides which files and groups are known.

import * as backup from "/web/backup.js";
import * as chacha from "/web/chacha20poly1305.js";
import * as conversation from "/web/conversation-crypto.js";
import * as core from "/web/reciprocity.js";
import * as transparency from "/web/transparency.js";

const r = { ...core, ...transparency };

const { fromHex, toHex } = r;

// The reference's rule (Specs/reference/reciprocity_ref.py `expect`): a valid case must compute exactly the
// listed outputs; an invalid one must fail with its `error` code. Any other exception is a failure.
async function expect(test, compute, fields) {
    let out;
    try {
        out = await compute(test);
    } catch (error) {
        if (!(error instanceof r.ReciprocityError)) return `unexpected ${error?.name}: ${error?.message}`;
        if (test.result === "valid") return `expected valid, got ${error.code}`;
        return test.error === undefined || test.error === error.code ? null : `expected ${test.error}, got ${error.code}`;
    }
    if (test.result !== "valid") return `expected error ${test.error}, computation succeeded`;
    const show = (v) => (v instanceof Uint8Array ? toHex(v) : Array.isArray(v) ? v.map(show) : v);
    const wrong = fields.filter((f) => JSON.stringify(show(out[f])) !== JSON.stringify(test[f]));
    return wrong.length ? `mismatch in ${wrong.join(", ")}` : null;
}

function markInput(t) {
    return {
        program: t.program, relation: t.relation, epoch: t.epoch, selfHandle: t.selfHandle, selfRole: t.selfRole,
        privateKey: fromHex(t.selfPrivateKey), otherHandle: t.otherHandle, otherPublicKey: fromHex(t.otherPublicKey),
    };
}

async function checkToken(t) {
    return expect(t, async () => {
        const mark = await r.deriveMark(markInput(t), { intermediates: true });
        const wire = r.base64urlEncode(mark.token);
        if (toHex(r.base64urlDecode(wire, 32)) !== toHex(mark.token)) throw new Error("base64url does not round-trip");
        return { ...mark, tokenBase64url: wire };
    }, ["selfPublicKey", "selfPosition", "sharedSecret", "prk", "tokenInfo", "tagInfo1", "tagInfo2", "token",
        "tokenBase64url", "tag1", "tag2"]);
}

async function checkNote(t) {
    return expect(t, async () => {
        const sealed = fromHex(t.sealed);
        const mark = await r.deriveMark(markInput(t));
        const note = await r.openNote(mark, sealed);
        const writer = await r.deriveNoteKey(mark, mark.selfPosition === 1 ? 2 : 1);
        const paddedPlaintext = r.padNote(note);
        // The writer's side: sealing the padded note with the vector's nonce reproduces the sealed bytes.
        const nonce = sealed.subarray(0, 12);
        const resealed = chacha.seal(writer.key, nonce, paddedPlaintext, mark.token);
        if (toHex(resealed) !== toHex(sealed.subarray(12))) throw new Error("sealing does not reproduce the vector");
        return { token: mark.token, writerNoteInfo: writer.info, writerNoteKey: writer.key, paddedPlaintext, note };
    }, ["token", "writerNoteInfo", "writerNoteKey", "paddedPlaintext", "note"]);
}

// ReciprocityNoteSealTest: `self` is the writer and seals `note` with its own role's key and the vector's nonce
// through the module's sealNote; the reader (the other party, whose private key the vector does not hold) is
// not needed, but the sealed bytes must open again with the writer's key.
async function checkNoteSeal(t) {
    return expect(t, async () => {
        const mark = await r.deriveMark(markInput(t));
        const sealed = await r.sealNote(mark, t.note, { nonce: fromHex(t.nonce) });
        const writer = await r.deriveNoteKey(mark, mark.selfPosition);
        const paddedPlaintext = r.padNote(t.note);
        if (toHex(chacha.open(writer.key, sealed.subarray(0, 12), sealed.subarray(12), mark.token)) !== toHex(paddedPlaintext)) {
            throw new Error("the sealed note does not open with the writer's key");
        }
        return { token: mark.token, writerNoteInfo: writer.info, writerNoteKey: writer.key, paddedPlaintext, sealed };
    }, ["token", "writerNoteInfo", "writerNoteKey", "paddedPlaintext", "sealed"]);
}

async function checkMerkle(t) {
    const hashes = await Promise.all(t.leaves.map((leaf) => r.leafHash(fromHex(leaf))));
    const root = fromHex(t.root);
    const proof = (t.proof ?? []).map(fromHex);
    let ok;
    if (t.kind === "root") ok = toHex(await r.merkleRoot(hashes)) === t.root;
    else if (t.kind === "inclusion") ok = await r.verifyInclusion(t.index, hashes.length, hashes[t.index], proof, root);
    else if (t.kind === "consistency") ok = await r.verifyConsistency(t.index, hashes.length, fromHex(t.oldRoot), root, proof);
    else return `unknown kind ${t.kind}`;
    return ok === (t.result === "valid") ? null : `${t.kind}: expected ${t.result}`;
}

async function checkKeyLog(t) {
    if (t.kind === "log") {
        return expect(t, async () => {
            const entries = t.entries.map((e) => ({ ...e, publicKey: fromHex(e.publicKey) }));
            const directory = await r.replayKeyLog(t.program, entries);
            return { leaves: directory.leaves, leafHashes: directory.leafHashes, root: await directory.root() };
        }, ["leaves", "leafHashes", "root"]);
    }
    if (t.kind === "treeHead") {
        // The module's order of checks: parse, program, signature, then the time when the test gives `now`.
        return expect(t, async () => {
            const head = await r.verifyTreeHeadLine(t.treeHead, { program: t.program, logPublicKey: fromHex(t.logPublicKey), now: t.now });
            if (r.treeHeadText(head) !== t.treeHead) throw new Error("the gossip line does not round-trip");
            return { root: head.rootHash };
        }, ["root"]);
    }
    return `unknown kind ${t.kind}`;
}

async function checkX25519(t) {
    return expect(t, async () => ({ shared: await r.x25519(await r.importPrivateKey(fromHex(t.private)), fromHex(t.public)) }), ["shared"]);
}

async function checkHkdf(t) {
    return expect(t, async () => {
        const [ikm, salt, info] = [fromHex(t.ikm), fromHex(t.salt), fromHex(t.info)];
        return { prk: await r.hkdfExtract(salt, ikm), okm: await r.hkdf(ikm, salt, info, t.size) };
    }, ["prk", "okm"]);
}

async function checkBase64url(t) {
    return expect(t, async () => {
        const decoded = r.base64urlDecode(t.encoded, t.byteCount ?? 32);
        if (r.base64urlEncode(decoded) !== t.encoded) throw new Error("encoding does not round-trip");
        return { decoded };
    }, ["decoded"]);
}

// passphraseUTF16 (hex code units) is the passphrase where it holds a lone surrogate, which a JS string can.
const typedPassphrase = (t) => t.passphraseUTF16 === undefined ? t.passphrase
    : String.fromCharCode(...t.passphraseUTF16.match(/.{4}/g).map((unit) => parseInt(unit, 16)));

// ReciprocityBackupImportTest: open `backup` with `passphrase` (backup.js openBackup), and the intermediates.
async function checkBackupImport(t) {
    return expect(t, async () => {
        // backupHex: the file's bytes, for files that are not UTF-8 text (backup.js takes bytes or text).
        const file = t.backupHex === undefined ? t.backup : fromHex(t.backupHex);
        const passphrase = typedPassphrase(t);
        const opened = await backup.openBackup(file, passphrase);
        const parsed = backup.parseBackup(file);
        const derivedKey = await backup.deriveKeyBytes(passphrase, parsed.salt, parsed.iterations);
        const publicKey = await r.publicKeyOf(await r.importPrivateKey(opened.privateKey));
        return {
            associatedData: new TextDecoder().decode(opened.associatedData), derivedKey,
            payload: new TextDecoder("utf-8", { ignoreBOM: true }).decode(opened.payload), privateKey: opened.privateKey, publicKey,
        };
    }, ["associatedData", "derivedKey", "payload", "privateKey", "publicKey"]);
}

// ReciprocityBackupExportTest: seal `payload` with the vector's salt, nonce and iterations (backup.js
// sealBackup); the text must be the vector's byte for byte, and open again with importBackup.
async function checkBackupExport(t) {
    return expect(t, async () => {
        const salt = fromHex(t.salt);
        const nonce = fromHex(t.nonce);
        const passphrase = typedPassphrase(t);
        const text = await backup.sealBackup(new TextEncoder().encode(t.payload), passphrase, { iterations: t.iterations, salt, nonce });
        const reopened = await backup.importBackup(text, passphrase);
        if (JSON.stringify(reopened.state) !== JSON.stringify(JSON.parse(t.payload).state)) throw new Error("the state does not round-trip");
        return {
            backup: text, associatedData: new TextDecoder().decode(backup.associatedData(t.iterations, salt, nonce)),
            derivedKey: await backup.deriveKeyBytes(passphrase, salt, t.iterations),
        };
    }, ["backup", "associatedData", "derivedKey"]);
}

// RECIPROCITY-MESSAGES-V1 (Specs/messages.md section 10): replays the script with conversation-crypto.js; every
// step must give its outputs, or its `error` with the state left as it was.
async function checkMessages(t) {
    const sides = {};
    const starts = {};
    /** Starts (or starts again) `member` with the ratchet key `key` (hex): a0 for side A, b1 for side B. */
    const start = async (member, key) => {
        const other = t.members.find((m) => m.handle !== member.handle);
        return conversation.startConversation({
            program: t.program, epoch: t.epoch, token: fromHex(t.token), privateKey: await r.importPrivateKey(fromHex(member.privateKey)),
            handle: member.handle, peerHandle: other.handle, peerPublicKey: fromHex(other.publicKey),
        }, { ratchetKey: () => fromHex(key) });
    };
    const [m0, m1] = t.members;
    const zeroIsA = m0.publicKey < m1.publicKey; // lowercase hex sorts as the bytes do
    for (const member of t.members) {
        const isA = (member === m0) === zeroIsA;
        starts[member.handle] = await start(member, isA ? t.firstRatchetPrivateKey : t.initialRatchetPrivateKey);
        sides[member.handle] = starts[member.handle].state;
    }
    const first = starts[t.members[0].handle];
    const wrong = [];
    const side = t.members.find((m) => starts[m.handle].side === "A")?.handle;
    for (const [name, mine] of [["side", side], ["staticSharedSecret", toHex(first.staticSharedSecret)], ["rootInfo", toHex(first.rootInfo)], ["rootSecret", toHex(first.rootSecret)]]) {
        if (t[name] !== mine) wrong.push(name);
    }
    let firstError = null;
    for (const [index, step] of t.steps.entries()) {
        const n = index + 1;
        if (step.action === "start") {
            sides[step.member] = (await start(t.members.find((m) => m.handle === step.member), step.ratchetPrivateKey)).state;
            continue;
        }
        if (step.action === "send") {
            let sealed;
            for (let i = 0; i < (step.count ?? 1); i++) {
                sealed = await conversation.sealMessage(sides[step.member], step.payload);
                sides[step.member] = sealed.state;
            }
            for (const [name, mine] of [["envelope", sealed.envelope], ["associatedData", sealed.associatedData], ["aeadKey", sealed.key], ["aeadNonce", sealed.nonce]]) {
                if (step[name] !== toHex(mine)) wrong.push(`step ${n} ${name}`);
            }
            continue;
        }
        let used = false;
        const ratchetKey = () => {
            if (step.ratchetPrivateKey === undefined) throw new Error("a DH ratchet step without a ratchetPrivateKey");
            used = true;
            return fromHex(step.ratchetPrivateKey);
        };
        const before = sides[step.member];
        let got;
        try {
            const opened = await conversation.openMessage(before, fromHex(step.envelope), { ratchetKey });
            sides[step.member] = opened.state;
            got = `payload ${opened.payload}`;
        } catch (error) {
            if (!(error instanceof r.ReciprocityError)) throw error;
            got = `error ${error.code}`;
            firstError ??= error.code;
        }
        const expected = step.error !== undefined ? `error ${step.error}` : `payload ${step.payload}`;
        if (got !== expected) wrong.push(`step ${n}: expected ${expected}, got ${got}`);
        if (used !== (step.ratchetPrivateKey !== undefined)) wrong.push(`step ${n} ratchetPrivateKey`);
    }
    if (t.result !== (firstError ? "invalid" : "valid") || (t.error ?? null) !== firstError) wrong.push("result");
    return wrong.length ? `mismatch in ${wrong.join(", ")}` : null;
}

const CHECKS = {
    "RECIPROCITY-TOKEN-V1": checkToken, "RECIPROCITY-NOTE-V1": checkNote, "MERKLE-RFC9162-SHA256": checkMerkle,
    "RECIPROCITY-KEY-LOG-V1": checkKeyLog, X25519: checkX25519, "HKDF-SHA-256": checkHkdf, "BASE64URL-32": checkBase64url,
    "RECIPROCITY-BACKUP-V1": checkBackupImport, "RECIPROCITY-MESSAGES-V1": checkMessages,
};

const GROUP_CHECKS = {
    "RECIPROCITY-NOTE-V1 ReciprocityNoteSealTest": checkNoteSeal,
    "RECIPROCITY-BACKUP-V1 ReciprocityBackupExportTest": checkBackupExport,
};

/** Checks every test of one vector file: `[{id, ok, reason}]`. */
export async function checkVectorFile(data) {
    const check = CHECKS[data.algorithm];
    if (!check) return [{ id: "file", ok: false, reason: `unknown algorithm ${data.algorithm}` }];
    const results = [];
    for (const group of data.testGroups) {
        // Groups of one file may need different checks (dispatch on the group's type); the runner lists the known ones.
        const groupCheck = GROUP_CHECKS[`${data.algorithm} ${group.type}`] ?? check;
        for (const test of group.tests) {
            let reason;
            try {
                reason = await groupCheck(test);
            } catch (error) {
                reason = `checker crashed: ${error?.name}: ${error?.message}`;
            }
            results.push({ id: test.tcId, ok: reason === null, reason });
        }
    }
    return results;
}

/** RFC 8439's own test vectors (sections 2.3.2, 2.4.2, 2.5.2, 2.8.2, appendix A.5), plus a flipped tag per AEAD case. */
export async function checkRfc8439(data) {
    const results = [];
    const record = (id, ok, reason) => results.push({ id, ok, reason: ok ? null : reason });
    for (const t of data.tests) {
        const b = Object.fromEntries(Object.entries(t).filter(([, v]) => typeof v === "string" && /^[0-9a-f]*$/.test(v)).map(([k, v]) => [k, fromHex(v)]));
        const id = `RFC 8439 ${t.section}`;
        try {
            if (t.kind === "chacha20Block") {
                record(id, toHex(chacha.chacha20Block(b.key, t.counter, b.nonce)) === t.block, "block differs");
            } else if (t.kind === "chacha20") {
                record(id, toHex(chacha.chacha20(b.key, b.nonce, t.counter, b.plaintext)) === t.ciphertext, "ciphertext differs");
                record(`${id} decrypt`, toHex(chacha.chacha20(b.key, b.nonce, t.counter, b.ciphertext)) === t.plaintext, "plaintext differs");
            } else if (t.kind === "poly1305") {
                record(id, toHex(chacha.poly1305(b.key, b.message)) === t.tag, "tag differs");
            } else if (t.kind === "aead" || t.kind === "aeadDecrypt") {
                if (t.kind === "aead") {
                    record(`${id} seal`, toHex(chacha.seal(b.key, b.nonce, b.plaintext, b.aad)) === t.ciphertext + t.tag, "sealed bytes differ");
                }
                const sealed = fromHex(t.ciphertext + t.tag);
                record(`${id} open`, toHex(chacha.open(b.key, b.nonce, sealed, b.aad)) === t.plaintext, "plaintext differs");
                sealed[sealed.length - 1] ^= 1;
                let refused = false;
                try {
                    chacha.open(b.key, b.nonce, sealed, b.aad);
                } catch (error) {
                    refused = error instanceof chacha.AuthenticationError;
                }
                record(`${id} flipped tag refused`, refused, "a tampered tag was accepted");
            } else {
                record(id, false, `unknown kind ${t.kind}`);
            }
        } catch (error) {
            record(id, false, `crashed: ${error?.name}: ${error?.message}`);
        }
    }
    return results;
}
