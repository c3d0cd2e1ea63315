// @ts-check
// Reciprocity's key transparency in the browser (Specs/transparency.md): RFC 9162 Merkle proofs, the key log
// and its directory rules, signed tree heads (Ed25519, WebCrypto), and the client's checks of section 5, with
// the spec's error codes. Built on ./reciprocity.js (names, keys, encodings), which knows nothing of it.

import {
    ReciprocityError, ascii, base64urlDecode, base64urlEncode, bytesOf, checkName, checkPublicKey, concat,
    constantTimeEqual, fail, lp, sha256, toHex,
} from "./reciprocity.js";

const subtle = globalThis.crypto.subtle;

/**
 * A signed tree head (Specs/transparency.md section 3). Parsed here, `treeSize` and `timestamp` are BigInts.
 * @typedef {{program: string, treeSize: bigint | number, rootHash: Uint8Array, timestamp: bigint | number, signature: Uint8Array}} TreeHead
 */
/**
 * Fetches the server's consistency proof between two sizes (`/v1/log/consistency`): its hashes, or null when the
 * server cannot give one.
 * @typedef {(from: number, to: number) => Promise<Uint8Array[] | null>} ConsistencyProof
 */
/** @typedef {"join" | "rotate" | "leave"} KeyLogEvent */
/** @typedef {{event: KeyLogEvent, handle: string, publicKey: Uint8Array}} KeyLogEntry */

// --- RFC 9162 Merkle trees (Specs/transparency.md section 2) ---------------------------------------------

/** A SHA-256 hash: leaf and node hashes, roots and proof steps. */
export const HASH_BYTES = 32;

/**
 * RFC 9162 section 2.1.1: SHA-256(0x00 || leaf).
 * @param {Uint8Array} leaf
 * @returns {Promise<Uint8Array>}
 */
export function leafHash(leaf) {
    return sha256(concat(Uint8Array.of(0), bytesOf(leaf, "leaf")));
}

/** RFC 9162 section 2.1.1: SHA-256(0x01 || left || right). */
function nodeHash(left, right) {
    return sha256(concat(Uint8Array.of(1), left, right));
}

/**
 * MTH(D[n]), RFC 9162 section 2.1.1, from the leaf hashes.
 * @param {Uint8Array[]} leafHashes
 * @returns {Promise<Uint8Array>}
 */
export async function merkleRoot(leafHashes) {
    const n = leafHashes.length;
    if (n === 0) return sha256(new Uint8Array(0));
    if (n === 1) return leafHashes[0];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return nodeHash(await merkleRoot(leafHashes.slice(0, k)), await merkleRoot(leafHashes.slice(k)));
}

const isHash = (value) => value instanceof Uint8Array && value.length === HASH_BYTES;
const isSize = (n) => Number.isSafeInteger(n) && n >= 0;

/**
 * RFC 9162 section 2.1.3.2: true when `proof` proves `hash` is leaf `index` of the tree of `size` leaves
 * with root `root`. Refuses steps that are not 32 bytes and an index outside the tree.
 * @param {number} index
 * @param {number} size
 * @param {Uint8Array} hash
 * @param {Uint8Array[]} proof
 * @param {Uint8Array} root
 * @returns {Promise<boolean>}
 */
export async function verifyInclusion(index, size, hash, proof, root) {
    if (!isSize(index) || !isSize(size) || index >= size || !isHash(hash) || !isHash(root)) return false;
    if (!Array.isArray(proof) || !proof.every(isHash)) return false;
    let fn = index;
    let sn = size - 1;
    let r = hash;
    for (const p of proof) {
        if (sn === 0) return false;
        if (fn % 2 === 1 || fn === sn) {
            r = await nodeHash(p, r);
            while (fn % 2 === 0 && fn !== 0) {
                fn = Math.floor(fn / 2);
                sn = Math.floor(sn / 2);
            }
        } else {
            r = await nodeHash(r, p);
        }
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
    }
    return sn === 0 && constantTimeEqual(r, root);
}

/**
 * RFC 9162 section 2.1.4.2: true when `proof` proves the tree of `oldSize` leaves with `oldRoot` is a prefix
 * of the tree of `newSize` leaves with `newRoot`. Refuses a shrinking tree, an empty old tree, steps that
 * are not 32 bytes, and a non-empty proof between equal sizes.
 * @param {number} oldSize
 * @param {number} newSize
 * @param {Uint8Array} oldRoot
 * @param {Uint8Array} newRoot
 * @param {Uint8Array[]} proof
 * @returns {Promise<boolean>}
 */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
    if (!isSize(oldSize) || !isSize(newSize) || oldSize < 1 || oldSize > newSize) return false;
    if (!isHash(oldRoot) || !isHash(newRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false;
    if (oldSize === newSize) return proof.length === 0 && constantTimeEqual(oldRoot, newRoot);
    // Step 1: when the old size is a power of two, the old root is the proof's implicit first node.
    const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : proof;
    if (path.length === 0) return false;
    let fn = oldSize - 1;
    let sn = newSize - 1;
    while (fn % 2 === 1) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
        if (sn === 0) return false;
        if (fn % 2 === 1 || fn === sn) {
            fr = await nodeHash(c, fr);
            sr = await nodeHash(c, sr);
            while (fn % 2 === 0 && fn !== 0) {
                fn = Math.floor(fn / 2);
                sn = Math.floor(sn / 2);
            }
        } else {
            sr = await nodeHash(sr, c);
        }
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
    }
    return sn === 0 && constantTimeEqual(fr, oldRoot) && constantTimeEqual(sr, newRoot);
}

// --- the key log (Specs/transparency.md section 1) -------------------------------------------------------

/** Section 1: the event of a key-log entry and its code in the leaf. */
export const KEY_LOG_EVENTS = Object.freeze({ join: 1, rotate: 2, leave: 3 });

/**
 * LP("reciprocity-key-log/v1") || LP(program) || code || LP(handle) || public key.
 * @param {string} program
 * @param {KeyLogEvent} event
 * @param {string} handle
 * @param {Uint8Array} publicKey
 * @returns {Uint8Array}
 */
export function keyLogLeaf(program, event, handle, publicKey) {
    const code = Object.hasOwn(KEY_LOG_EVENTS, event) ? KEY_LOG_EVENTS[event] : fail("invalidLogEntry", `unknown event ${event}`);
    return concat(
        lp(ascii("reciprocity-key-log/v1")), lp(ascii(checkName(program, "invalidProgram"))), Uint8Array.of(code),
        lp(ascii(checkName(handle, "invalidHandle"))), checkPublicKey(publicKey));
}

/**
 * A program's directory as its key log builds it: which handle holds which key, and the leaf hashes so far.
 * `apply` enforces the directory rules; use one instance to replay a log incrementally.
 */
export class KeyDirectory {
    constructor(program) {
        this.program = checkName(program, "invalidProgram");
        /** handle -> live public key (hex) */
        this.live = new Map();
        this.owners = new Map(); // live public key (hex) -> handle
        this.leaves = [];
        this.leafHashes = [];
    }

    get size() {
        return this.leafHashes.length;
    }

    /** Appends one entry `{event, handle, publicKey}` (publicKey as bytes), or throws without changing anything. */
    async apply({ event, handle, publicKey }) {
        if (!Object.hasOwn(KEY_LOG_EVENTS, event)) fail("invalidLogEntry", `unknown event ${event}`);
        checkName(handle, "invalidHandle");
        checkPublicKey(publicKey);
        const key = toHex(publicKey);
        const current = this.live.get(handle);
        const owner = this.owners.get(key);
        if (event !== "leave" && owner !== undefined && owner !== handle) fail("invalidLogEntry", `${event} ${handle}: the key is live under ${owner}`);
        if (event === "join" && current !== undefined) fail("invalidLogEntry", `join ${handle}: the handle is live`);
        if (event === "rotate" && (current === undefined || current === key)) fail("invalidLogEntry", `rotate ${handle}: not live, or to the key it has`);
        if (event === "leave" && current !== key) fail("invalidLogEntry", `leave ${handle}: not the handle's live key`);
        const leaf = keyLogLeaf(this.program, event, handle, publicKey);
        const hash = await leafHash(leaf);
        if (current !== undefined) this.owners.delete(current);
        if (event === "leave") {
            this.live.delete(handle);
        } else {
            this.live.set(handle, key);
            this.owners.set(key, handle);
        }
        this.leaves.push(leaf);
        this.leafHashes.push(hash);
    }

    /** The Merkle root of the entries applied so far. */
    root() {
        return merkleRoot(this.leafHashes);
    }
}

/**
 * Replays `entries` from an empty directory under the directory rules; the first break throws.
 * @param {string} program
 * @param {KeyLogEntry[]} entries
 * @returns {Promise<KeyDirectory>}
 */
export async function replayKeyLog(program, entries) {
    const directory = new KeyDirectory(program);
    for (const entry of entries) await directory.apply(entry);
    return directory;
}

// --- signed tree heads (Specs/transparency.md section 3) -------------------------------------------------

const STH_LABEL = "reciprocity-sth/v1";

/** The largest tree size a head may state, 2^63 - 1 (it always fits a signed 64-bit integer). */
export const MAX_TREE_SIZE = 2n ** 63n - 1n;
/** The largest timestamp a head may state, 2^64 - 1 (it must fit BE64). */
export const MAX_TIMESTAMP = 2n ** 64n - 1n;

function be64(n) {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n));
    return out;
}

// A tree size or timestamp as a BigInt, from a BigInt or an exact (safe) integer Number; else null.
function exactCount(n, max) {
    if (typeof n === "number" && !Number.isSafeInteger(n)) return null;
    if (typeof n !== "number" && typeof n !== "bigint") return null;
    const value = BigInt(n);
    return value >= 0n && value <= max ? value : null;
}

// A count as a Number when it is exact, else -1 (which every proof check refuses).
function safeNumber(n) {
    const value = BigInt(n);
    return value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1;
}

function parseCount(text, max, what) {
    // transparency.md section 3: "0" or a non-zero digit then digits; no sign, no leading zero, no spaces.
    if (!/^(?:0|[1-9][0-9]*)$/.test(text) || BigInt(text) > max) fail("invalidEncoding", `not a ${what}: ${JSON.stringify(text)}`);
    return BigInt(text);
}

/**
 * Parses the gossip line `reciprocity-sth/v1 <program> <size> <root> <timestamp> <signature>` under the strict
 * grammar of Specs/transparency.md section 3 (not verified): exactly six fields separated by single spaces,
 * nothing before or after (the line is never trimmed: a trailing `\n` is refused), fields checked left to right
 * (`invalidEncoding`, or `invalidProgram` for the program). `treeSize` (at most 2^63 - 1) and `timestamp` (at most
 * 2^64 - 1) are BigInts.
 * @param {string} line
 * @returns {TreeHead}
 */
export function parseTreeHead(line) {
    const fields = typeof line === "string" ? line.split(" ") : [];
    if (fields.length !== 6 || fields[0] !== STH_LABEL) fail("invalidEncoding", "not a reciprocity-sth/v1 line");
    return {
        program: checkName(fields[1], "invalidProgram"),
        treeSize: parseCount(fields[2], MAX_TREE_SIZE, "tree size"),
        rootHash: base64urlDecode(fields[3], HASH_BYTES),
        timestamp: parseCount(fields[4], MAX_TIMESTAMP, "timestamp"),
        signature: base64urlDecode(fields[5], 64),
    };
}

/**
 * A tree head as the API sends it (`{program, treeSize, rootHash, timestamp, signature}`, base64url), under the
 * line's field rules: `treeSize` and `timestamp` must be exact non-negative integers (a Number beyond 2^53 - 1 is
 * not exact and is refused; a BigInt from a BigInt-aware parser is fine), a size at most 2^63 - 1 and a timestamp
 * at most 2^64 - 1, else `invalidEncoding`. Both come back as BigInts.
 * @param {any} json
 * @returns {TreeHead}
 */
export function treeHeadFromJSON(json) {
    const count = (n, max) => exactCount(n, max) ?? fail("invalidEncoding", `a tree size or timestamp is an exact integer from 0 to ${max}`);
    return {
        program: checkName(json?.program, "invalidProgram"),
        treeSize: count(json.treeSize, MAX_TREE_SIZE),
        rootHash: base64urlDecode(json.rootHash, HASH_BYTES),
        timestamp: count(json.timestamp, MAX_TIMESTAMP),
        signature: base64urlDecode(json.signature, 64),
    };
}

/**
 * The one-line gossip form of a tree head.
 * @param {TreeHead} head
 * @returns {string}
 */
export function treeHeadText(head) {
    return [STH_LABEL, head.program, head.treeSize, base64urlEncode(head.rootHash), head.timestamp, base64urlEncode(head.signature)].join(" ");
}

/**
 * LP("reciprocity-sth/v1") || LP(program) || BE64(size) || root || BE64(timestamp): what the log signs.
 * @param {TreeHead} head
 * @returns {Uint8Array}
 */
export function treeHeadMessage(head) {
    return concat(lp(ascii(STH_LABEL)), lp(ascii(head.program)), be64(head.treeSize), head.rootHash, be64(head.timestamp));
}

/**
 * True when `head` is signed by the Ed25519 log key (32 raw bytes), RFC 8032 through WebCrypto.
 * @param {TreeHead} head
 * @param {Uint8Array} logPublicKey 32 bytes
 * @returns {Promise<boolean>}
 */
export async function verifyTreeHead(head, logPublicKey) {
    if (!isHash(head.rootHash) || !(head.signature instanceof Uint8Array) || head.signature.length !== 64) return false;
    if (exactCount(head.treeSize, MAX_TREE_SIZE) === null || exactCount(head.timestamp, MAX_TIMESTAMP) === null) return false;
    let key;
    try {
        key = await subtle.importKey("raw", bytesOf(logPublicKey, "log key"), { name: "Ed25519" }, false, ["verify"]);
    } catch {
        return false; // not an Ed25519 public key: nothing verifies with it
    }
    return subtle.verify({ name: "Ed25519" }, key, head.signature, treeHeadMessage(head));
}

/** A head older than this is refused (the server signs at least hourly). */
export const MAX_HEAD_AGE_MS = 24 * 3600 * 1000;
/** A head dated further ahead of the clock than this is refused: no honest log signs one. */
export const MAX_HEAD_SKEW_MS = 5 * 60 * 1000;

/**
 * The time check of Specs/transparency.md section 3 with the clock `now` (ms since 1970): `futureHead` when the
 * head is dated more than 5 minutes ahead, `staleHead` when it is more than `maxAgeMs` (24 hours) old; the exact
 * bounds pass. A gossiped head is checked with `maxAgeMs: Infinity` (its age is not checked, only the future).
 * @param {TreeHead} head
 * @param {number | bigint} now
 * @param {{maxAgeMs?: number}} options (optional)
 * @returns {void}
 */
export function checkHeadTime(head, now, { maxAgeMs = MAX_HEAD_AGE_MS } = {}) {
    const timestamp = exactCount(head.timestamp, MAX_TIMESTAMP) ?? fail("invalidEncoding", "the head's timestamp is not a BE64 integer");
    const clock = exactCount(now, MAX_TIMESTAMP) ?? fail("invalidEncoding", "the clock is not an exact non-negative integer of ms");
    if (timestamp - clock > BigInt(MAX_HEAD_SKEW_MS)) {
        fail("futureHead", `the tree head is dated ${(timestamp - clock) / 1000n} s ahead of the clock (at most ${MAX_HEAD_SKEW_MS / 1000} allowed)`);
    }
    if (maxAgeMs !== Infinity && clock - timestamp > BigInt(maxAgeMs)) {
        fail("staleHead", `the tree head is ${(clock - timestamp) / 3600000n} hours old (at most ${maxAgeMs / 3600000} allowed)`);
    }
}

/**
 * Checks a head line in the order of Specs/transparency.md section 3, reporting the first failure: parse
 * (`invalidEncoding`, `invalidProgram`), the expected `program` (`invalidSignature`: the signature binds it), the
 * signature with `logPublicKey` (`invalidSignature`), then, when `now` is given, the time (`futureHead`,
 * `staleHead`; `maxAgeMs: Infinity` for a gossiped head). Resolves to the parsed head.
 * @param {string} line
 * @param {{program: string, logPublicKey: Uint8Array, now?: number | bigint, maxAgeMs?: number}} options
 * @returns {Promise<TreeHead>}
 */
export async function verifyTreeHeadLine(line, { program, logPublicKey, now, maxAgeMs = MAX_HEAD_AGE_MS }) {
    const head = parseTreeHead(line);
    if (head.program !== program) fail("invalidSignature", `the head is signed for program ${head.program}, not ${program}`);
    if (!(await verifyTreeHead(head, logPublicKey))) fail("invalidSignature", "the head is not signed by the log key");
    if (now !== undefined) checkHeadTime(head, now, { maxAgeMs });
    return head;
}

// --- the client's checks before it derives anything (Specs/transparency.md section 5) --------------------

function forked(seen, served) {
    return new ReciprocityError(
        "log-fork",
        `the server's log is not an extension of the one verified before; evidence: seen [${treeHeadText(seen)}] served [${treeHeadText(served)}]`);
}

/**
 * Two signed heads of one log must agree: equal roots at equal sizes, else a valid consistency proof
 * from the smaller to the larger. `consistencyProof(from, to)` fetches `/v1/log/consistency` and resolves to
 * the proof's hashes, or null when the server says it cannot give one (which is a fork too). `from` and `to`
 * are Numbers when exact, else BigInts (no proof of a tree beyond 2^53 - 1 leaves verifies here).
 * @param {TreeHead} seen
 * @param {TreeHead} served
 * @param {ConsistencyProof} consistencyProof
 * @returns {Promise<void>}
 */
export async function checkConsistent(seen, served, consistencyProof) {
    const [small, large] = BigInt(served.treeSize) <= BigInt(seen.treeSize) ? [served, seen] : [seen, served];
    const [smallSize, largeSize] = [BigInt(small.treeSize), BigInt(large.treeSize)];
    if (smallSize === largeSize) {
        if (!constantTimeEqual(small.rootHash, large.rootHash)) throw forked(seen, served);
        return;
    }
    if (smallSize === 0n) return;
    const [from, to] = [safeNumber(smallSize), safeNumber(largeSize)];
    if (from < 0 || to < 0) throw forked(seen, served);
    const proof = await consistencyProof(from, to);
    if (!proof || !(await verifyConsistency(from, to, small.rootHash, large.rootHash, proof))) {
        throw forked(seen, served);
    }
}

/**
 * Checks a head the server serves as the log's current state (section 5 steps 1 and 2), every time, also when it
 * is the very head held already (a frozen head goes stale): a well-formed head, size at most 2^63 - 1
 * (`log-invalid-head`), for `program` (`log-invalid-head`), signed by the pinned log key (`log-signature`), at
 * most 24 hours old (`log-stale-head`) and at most 5 minutes ahead of the clock `now` (`log-future-head`), and
 * extending the latest verified head `previous` (`log-rollback`, `log-fork`). Resolves to the head to remember as
 * the latest verified.
 * @param {TreeHead} head
 * @param {{program: string, logPublicKey: Uint8Array, previous?: TreeHead | null, consistencyProof: ConsistencyProof, now?: number}} options
 * @returns {Promise<TreeHead>}
 */
export async function checkTreeHead(head, { program, logPublicKey, previous = null, consistencyProof, now = Date.now() }) {
    if (exactCount(head?.treeSize, MAX_TREE_SIZE) === null || exactCount(head.timestamp, MAX_TIMESTAMP) === null ||
        !isHash(head.rootHash) || !(head.signature instanceof Uint8Array) || head.signature.length !== 64) {
        fail("log-invalid-head", `the server sent a malformed tree head (a size is at most ${MAX_TREE_SIZE}, a timestamp at most ${MAX_TIMESTAMP})`);
    }
    if (head.program !== program) fail("log-invalid-head", `the tree head is for program ${head.program}, not ${program}`);
    if (!(await verifyTreeHead(head, logPublicKey))) {
        fail("log-signature", `the tree head is not signed by the pinned log key ${base64urlEncode(logPublicKey)}: ${treeHeadText(head)}`);
    }
    try {
        checkHeadTime(head, now);
    } catch (error) {
        if (!(error instanceof ReciprocityError) || (error.code !== "staleHead" && error.code !== "futureHead")) throw error;
        const future = error.code === "futureHead";
        fail(future ? "log-future-head" : "log-stale-head",
            `${error.message.replace(/^\w+: /, "")}${future ? " (is this computer's clock right?)" : "; the server may be showing a frozen view"}: ${treeHeadText(head)}`);
    }
    if (!previous) return head;
    if (BigInt(head.treeSize) < BigInt(previous.treeSize)) {
        fail("log-rollback", `the log has ${head.treeSize} entries but ${previous.treeSize} were verified before; evidence: seen [${treeHeadText(previous)}] served [${treeHeadText(head)}]`);
    }
    await checkConsistent(previous, head, consistencyProof);
    return BigInt(head.treeSize) === BigInt(previous.treeSize) && BigInt(head.timestamp) < BigInt(previous.timestamp) ? previous : head;
}

/**
 * Section 5 step 3: the directory entry's key is the one the log entry at `keyProof.leafIndex` made live
 * (`join` or `rotate`), included in `head` (a head already checked with `checkTreeHead`); else `log-inclusion`.
 * `keyProof` is the API's `{leafIndex, event, inclusionProof}` (proof hashes base64url). Resolves to the key.
 * @param {{program: string, handle: string, publicKey: string | Uint8Array, keyProof: {leafIndex: number, event: string, inclusionProof: string[]} | null | undefined, head: TreeHead}} input
 * @returns {Promise<Uint8Array>}
 */
export async function checkKeyInclusion({ program, handle, publicKey, keyProof, head }) {
    if (!keyProof) fail("log-missing-proof", `the server gave no key-log proof for ${handle}'s key`);
    const key = typeof publicKey === "string" ? base64urlDecode(publicKey, 32) : publicKey;
    let ok = false;
    if ((keyProof.event === "join" || keyProof.event === "rotate") && Array.isArray(keyProof.inclusionProof)) {
        try {
            const proof = keyProof.inclusionProof.map((step) => base64urlDecode(step, HASH_BYTES));
            const hash = await leafHash(keyLogLeaf(program, keyProof.event, handle, key));
            ok = await verifyInclusion(keyProof.leafIndex, safeNumber(head.treeSize), hash, proof, head.rootHash);
        } catch (error) {
            if (!(error instanceof ReciprocityError)) throw error;
        }
    }
    if (!ok) {
        fail("log-inclusion", `the key the server gives for ${handle} is not in its key log; refusing to use it. Tree head: ${treeHeadText(head)}`);
    }
    return key;
}
