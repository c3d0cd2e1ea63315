// @ts-check
// Reciprocity protocol v1 in the browser: one dependency-free ES module for the members' web app and for
// any other web integrator. It implements Specs/protocol.md (names, keys, the key schedule, marks and
// confirmation tags, sealed notes, dummy marks, the base64url wire encoding) and Specs/transparency.md
// (RFC 9162 Merkle proofs, the key log and its directory rules, signed tree heads, and the client's checks
// of section 5), with the error codes of the spec and of Specs/vectors/.
//
// Every primitive is WebCrypto (X25519, HKDF-SHA256, HMAC-SHA256, Ed25519, SHA-256) except the sealed
// notes' ChaCha20-Poly1305, which WebCrypto lacks (./chacha20poly1305.js). Private keys may be
// non-extractable CryptoKeys: the shared secret comes from `deriveBits`, and the own public key from
// X25519(k, 9), so nothing ever exports a private key. Needs a secure context (https or localhost).
//
// Bytes are Uint8Array in and out; wire values are unpadded base64url strings.

import { AuthenticationError, constantTimeEqual, open, seal } from "./chacha20poly1305.js";

/** Byte comparison in time that depends only on the lengths: for tokens, tags and hashes (section 9). */
export { constantTimeEqual };

const subtle = globalThis.crypto.subtle;
const encoder = new TextEncoder();
const ascii = (text) => encoder.encode(text);

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

/** A protocol failure with a stable `code` from the spec (e.g. `invalidHandle`, `log-fork`). */
export class ReciprocityError extends Error {
    constructor(code, reason) {
        super(`${code}: ${reason}`);
        this.name = "ReciprocityError";
        this.code = code;
    }
}

/** @returns {never} */
function fail(code, reason) {
    throw new ReciprocityError(code, reason);
}

export function concat(...parts) {
    const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
        out.set(part, offset);
        offset += part.length;
    }
    return out;
}

function bytesOf(value, what) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
    return value;
}

// --- hex and base64url (Specs/protocol.md section 9) -----------------------------------------------------

/**
 * Lowercase hex, as the vector files write bytes.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toHex(bytes) {
    let out = "";
    for (const b of bytesOf(bytes, "bytes")) out += HEX[b];
    return out;
}
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/**
 * Decodes hex (either case); anything else is `invalidEncoding`.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function fromHex(text) {
    if (typeof text !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) fail("invalidEncoding", "not hex");
    return Uint8Array.from(/** @type {string[]} */ (text.match(/../g) ?? []), (pair) => parseInt(pair, 16));
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Unpadded base64url, RFC 4648 section 5.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function base64urlEncode(bytes) {
    bytesOf(bytes, "bytes");
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
        const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
        const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
        for (let j = 0; j < chars; j++) out += BASE64URL[(n >>> (18 - 6 * j)) & 63];
    }
    return out;
}

/**
 * Decodes exactly `length` bytes of canonical unpadded base64url: no padding, no other characters, the
 * exact number of characters, and zero unused low bits in the last one; anything else is `invalidEncoding`,
 * so every value has one spelling.
 * @param {string} text
 * @param {number} length the number of bytes it must hold
 * @returns {Uint8Array}
 */
export function base64urlDecode(text, length) {
    if (typeof text !== "string" || text.length !== Math.ceil((length * 8) / 6) || !/^[A-Za-z0-9_-]*$/.test(text)) {
        fail("invalidEncoding", `not ${length} bytes of unpadded base64url`);
    }
    const out = new Uint8Array(length);
    let bits = 0;
    let value = 0;
    let index = 0;
    for (const char of text) {
        value = (value << 6) | BASE64URL.indexOf(char);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[index++] = (value >>> bits) & 0xff;
            value &= (1 << bits) - 1;
        }
    }
    if (value !== 0) fail("invalidEncoding", "the unused bits of the last character are not zero");
    return out;
}

// --- names, relations and keys (sections 3 to 5) ---------------------------------------------------------

const NAME = /^[a-z0-9][a-z0-9._-]{2,63}$/;

/**
 * Section 3: a program name or handle, never normalised.
 * @param {string} name
 * @param {string} code the error code when it is not a name (`invalidHandle`, `invalidProgram`, ...)
 * @returns {string} `name`
 */
export function checkName(name, code) {
    if (typeof name !== "string" || !NAME.test(name)) fail(code, "a name is 3 to 64 of a-z 0-9 . _ -, not starting with punctuation");
    return name;
}

/** Section 5: each relation's roles a member may take, and the labels of role 1 and role 2. */
export const RELATIONS = Object.freeze({
    mentorship: Object.freeze({ roles: ["mentor", "mentee"], labels: ["mentor", "mentee"] }),
    peer: Object.freeze({ roles: ["peer"], labels: ["peer1", "peer2"] }),
});

// Section 4: the canonical small-order u-coordinates (u = 0, 1, the two of order 8, and p - 1).
const SMALL_ORDER = new Set([
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]);
// p = 2^255 - 19 as 32 little-endian bytes.
const FIELD_PRIME = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff));

/**
 * Section 4: validates a public key received from anyone else; returns it.
 * @param {Uint8Array} key
 * @returns {Uint8Array} `key`
 */
export function checkPublicKey(key) {
    bytesOf(key, "public key");
    if (key.length !== 32) fail("invalidLength", `a public key is 32 bytes, got ${key.length}`);
    if (!lessThanLittleEndian(key, FIELD_PRIME)) fail("nonCanonicalPublicKey", "the public key is not a canonical field element");
    if (SMALL_ORDER.has(toHex(key))) fail("lowOrderPublicKey", "the public key is a point of small order");
    return key;
}

/** a < b for equal-length unsigned little-endian integers (public data: timing is no concern). */
function lessThanLittleEndian(a, b) {
    for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
}

/**
 * A short fingerprint for comparing keys out of band: the first 16 bytes of
 * SHA-256("reciprocity/v1 fingerprint" || key), as eight groups of four hex digits (as the CLI shows it).
 * @param {Uint8Array} publicKey 32 bytes
 * @returns {Promise<string>}
 */
export async function fingerprint(publicKey) {
    const digest = await sha256(concat(ascii("reciprocity/v1 fingerprint"), checkPublicKey(publicKey)));
    return /** @type {string[]} */ (toHex(digest.subarray(0, 16)).match(/..../g)).join(" "); // 32 digits: 8 groups
}

// --- WebCrypto primitives --------------------------------------------------------------------------------

/**
 * SHA-256 (FIPS 180-4).
 * @param {Uint8Array} data
 * @returns {Promise<Uint8Array>}
 */
export async function sha256(data) {
    return new Uint8Array(await subtle.digest("SHA-256", bytesOf(data, "data")));
}

/**
 * HMAC-SHA256 (RFC 2104). An empty key is the same as 32 zero bytes (RFC 5869 section 2.2).
 * @param {Uint8Array} key
 * @param {Uint8Array} message
 * @returns {Promise<Uint8Array>}
 */
export async function hmacSha256(key, message) {
    const raw = bytesOf(key, "key").length === 0 ? new Uint8Array(32) : key;
    const hmacKey = await subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    return new Uint8Array(await subtle.sign("HMAC", hmacKey, bytesOf(message, "message")));
}

/**
 * HKDF-Extract (RFC 5869 section 2.2): the PRK.
 * @param {Uint8Array} salt
 * @param {Uint8Array} ikm
 * @returns {Promise<Uint8Array>}
 */
export function hkdfExtract(salt, ikm) {
    return hmacSha256(salt, ikm);
}

/**
 * HKDF-SHA256 (RFC 5869): Extract then Expand to `length` bytes, with WebCrypto's HKDF.
 * @param {Uint8Array} ikm
 * @param {Uint8Array} salt
 * @param {Uint8Array} info
 * @param {number} length
 * @returns {Promise<Uint8Array>}
 */
export async function hkdf(ikm, salt, info, length) {
    const key = await subtle.importKey("raw", bytesOf(ikm, "ikm"), "HKDF", false, ["deriveBits"]);
    return hkdfWithKey(key, salt, info, length);
}

async function hkdfWithKey(key, salt, info, length) {
    const params = { name: "HKDF", hash: "SHA-256", salt: bytesOf(salt, "salt"), info: bytesOf(info, "info") };
    return new Uint8Array(await subtle.deriveBits(params, key, length * 8));
}

// A PKCS #8 PrivateKeyInfo for X25519 (RFC 8410 section 7) is this prefix and the 32-byte key: WebCrypto
// imports raw X25519 private keys only in this form or as a JWK.
const X25519_PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");
const BASE_POINT = fromHex("0900000000000000000000000000000000000000000000000000000000000000");
const publicKeys = new WeakMap();

/**
 * A new X25519 key pair; the private key is a non-extractable CryptoKey.
 * @returns {Promise<{privateKey: CryptoKey, publicKey: Uint8Array}>}
 */
export async function generateKeyPair() {
    const pair = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]));
    const publicKey = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    publicKeys.set(pair.privateKey, publicKey);
    return { privateKey: pair.privateKey, publicKey };
}

/**
 * Imports a raw 32-byte X25519 private key (any value: X25519 clamps it), non-extractable by default.
 * @param {Uint8Array} raw 32 bytes
 * @param {{extractable?: boolean}} options (optional)
 * @returns {Promise<CryptoKey>}
 */
export async function importPrivateKey(raw, { extractable = false } = {}) {
    if (bytesOf(raw, "private key").length !== 32) fail("invalidLength", `a private key is 32 bytes, got ${raw.length}`);
    return subtle.importKey("pkcs8", concat(X25519_PKCS8_PREFIX, raw), { name: "X25519" }, extractable, ["deriveBits"]);
}

/**
 * X25519(k, u), RFC 7748 section 5, through WebCrypto `deriveBits` (so `privateKey` may be
 * non-extractable). As section 5 requires, the top bit of `u` is masked. WebCrypto refuses an all-zero
 * result; that is reported as `lowOrderPublicKey` (Specs/protocol.md section 6 step 3).
 * @param {CryptoKey} privateKey
 * @param {Uint8Array} publicKey 32 bytes
 * @returns {Promise<Uint8Array>} the 32-byte shared secret
 */
export async function x25519(privateKey, publicKey) {
    const u = bytesOf(publicKey, "public key").slice();
    if (u.length !== 32) fail("invalidLength", `a public key is 32 bytes, got ${u.length}`);
    u[31] &= 0x7f;
    const peer = await subtle.importKey("raw", u, { name: "X25519" }, false, []);
    let shared;
    try {
        shared = new Uint8Array(await subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256));
    } catch (error) {
        if (error?.name === "OperationError") fail("lowOrderPublicKey", "the shared secret is all zero");
        throw error;
    }
    if (shared.every((b) => b === 0)) fail("lowOrderPublicKey", "the shared secret is all zero");
    return shared;
}

/**
 * The public key X25519(k, 9) of a private CryptoKey, extractable or not (cached per key).
 * @param {CryptoKey} privateKey
 * @returns {Promise<Uint8Array>}
 */
export async function publicKeyOf(privateKey) {
    let key = publicKeys.get(privateKey);
    if (!key) {
        key = await x25519(privateKey, BASE_POINT);
        publicKeys.set(privateKey, key);
    }
    return key.slice();
}

// --- the key schedule (section 6) ------------------------------------------------------------------------

const SALT = ascii("reciprocity/v1 hkdf-salt");

/** LP(x) = BE16(len(x)) || x. Every field here is at most 255 bytes. */
function lp(field) {
    return lpFields([field]);
}

// LP(f1) || LP(f2) || ... in one buffer; a string field is a checked name or a fixed label (ASCII).
function lpFields(fields) {
    const out = new Uint8Array(fields.reduce((sum, field) => sum + 2 + field.length, 0));
    let offset = 0;
    for (const field of fields) {
        out[offset] = field.length >>> 8;
        out[offset + 1] = field.length & 0xff;
        offset += 2;
        if (typeof field === "string") for (let i = 0; i < field.length; i++) out[offset + i] = field.charCodeAt(i);
        else out.set(field, offset);
        offset += field.length;
    }
    return out;
}

// LP of the fixed labels (version, purposes, role labels), made once.
const fixedLabels = new Map();
const lpLabel = (text) => fixedLabels.get(text) ?? fixedLabels.set(text, lp(text)).get(text);

function be32(n) {
    return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function compareBytes(a, b) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
}

// Secrets of a derived mark, kept out of the object itself so that logging or serialising a mark never
// shows them: the HKDF key made from Z (non-extractable), the binding and the relation's labels.
const markSecrets = new WeakMap();

/**
 * Derives one mark, Specs/protocol.md section 6: validates every input, orders the parties by role, and
 * derives the token and both confirmation tags from X25519 and HKDF-SHA256.
 *
 * @param {object} input
 * @param {string} input.program
 * @param {string} input.relation `mentorship` or `peer`
 * @param {number} input.epoch unsigned 32-bit
 * @param {string} input.selfHandle
 * @param {string} input.selfRole `mentor`, `mentee` or `peer`
 * @param {CryptoKey|Uint8Array} input.privateKey an X25519 CryptoKey, or 32 raw bytes
 * @param {string} input.otherHandle
 * @param {Uint8Array} input.otherPublicKey 32 bytes, validated here (section 4)
 * @param {{intermediates?: boolean}} options (optional) `intermediates`: also return Z, the PRK and the info strings (for test vectors)
 * @returns {Promise<object>} `{selfPosition, selfPublicKey, token, tag1, tag2, ownTag, counterpartTag}`
 */
export async function deriveMark(input, { intermediates = false } = {}) {
    const { program, relation, epoch, selfHandle, selfRole, otherHandle, otherPublicKey } = input;
    checkName(program, "invalidProgram");
    const labels = Object.hasOwn(RELATIONS, relation) ? RELATIONS[relation] : fail("invalidRole", `unknown relation ${relation}`);
    checkName(selfHandle, "invalidHandle");
    checkName(otherHandle, "invalidHandle");
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) fail("invalidEpoch", "an epoch is an unsigned 32-bit integer");
    const privateKey = input.privateKey instanceof Uint8Array ? await importPrivateKey(input.privateKey) : input.privateKey;
    checkPublicKey(otherPublicKey);
    if (!labels.roles.includes(selfRole)) fail("invalidRole", `${relation} has no role ${selfRole}`);
    const selfPublicKey = await publicKeyOf(privateKey);
    if (selfHandle === otherHandle || compareBytes(selfPublicKey, otherPublicKey) === 0) {
        fail("selfMark", "a member cannot mark themself (same handle or same public key)");
    }

    // Role 1 is the mentor, or for peers the party with the smaller key as a byte string.
    const selfFirst = selfRole === "mentor" || (selfRole === "peer" && compareBytes(selfPublicKey, otherPublicKey) < 0);
    const own = [selfHandle, selfPublicKey];
    const other = [otherHandle, otherPublicKey];
    const [first, second] = selfFirst ? [own, other] : [other, own];
    const binding = lpFields([program, relation, be32(epoch), ...first, ...second]);
    const infoFor = (purpose, label) => concat(lpLabel("reciprocity/v1"), lpLabel(purpose), binding, ...(label ? [lpLabel(label)] : []));

    const shared = await x25519(privateKey, otherPublicKey);
    const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
    const tokenInfo = infoFor("token");
    const tagInfos = labels.labels.map((label) => infoFor("confirm", label));
    const [token, tag1, tag2] = await Promise.all([tokenInfo, ...tagInfos].map((info) => hkdfWithKey(ikm, SALT, info, 32)));
    const selfPosition = selfFirst ? 1 : 2;
    const mark = {
        program, relation, epoch, selfHandle, selfRole, otherHandle,
        otherPublicKey: otherPublicKey.slice(), selfPublicKey, selfPosition,
        token, tag1, tag2,
        ownTag: selfFirst ? tag1 : tag2,
        counterpartTag: selfFirst ? tag2 : tag1,
    };
    markSecrets.set(mark, { ikm, infoFor, labels: labels.labels });
    if (intermediates) {
        Object.assign(mark, {
            sharedSecret: shared.slice(), prk: await hkdfExtract(SALT, shared),
            tokenInfo, tagInfo1: tagInfos[0], tagInfo2: tagInfos[1],
        });
    }
    shared.fill(0);
    return mark;
}

/**
 * Section 7: true when the tag the server hands over for a match is the counterpart's (constant time).
 * @param {{counterpartTag: Uint8Array}} mark
 * @param {Uint8Array} receivedTag
 * @returns {boolean}
 */
export function verifyMatchTag(mark, receivedTag) {
    return constantTimeEqual(mark.counterpartTag, bytesOf(receivedTag, "tag"));
}

// --- sealed notes (section 7a) and dummy marks (section 8) -----------------------------------------------

/** The longest note, in bytes of UTF-8. */
export const NOTE_MAX_BYTES = 510;
const NOTE_PADDED_BYTES = 512;
/** nonce (12) || ciphertext (512) || tag (16): 720 characters of base64url on the wire. */
export const SEALED_NOTE_BYTES = 12 + NOTE_PADDED_BYTES + 16;

/**
 * The note key of role `position` (1 or 2) of a derived mark, with its HKDF info.
 * @param {object} mark a mark from deriveMark
 * @param {1 | 2} position
 * @returns {Promise<{info: Uint8Array, key: Uint8Array}>}
 */
export async function deriveNoteKey(mark, position) {
    const secrets = markSecrets.get(mark) ?? fail("invalidMark", "not a mark from deriveMark");
    if (position !== 1 && position !== 2) throw new RangeError("a role position is 1 or 2");
    const info = secrets.infoFor("note", secrets.labels[position - 1]);
    return { info, key: await hkdfWithKey(secrets.ikm, SALT, info, 32) };
}

/**
 * BE16(len(note)) || UTF-8 note || zeros, 512 bytes; a note over 510 bytes is `noteTooLong`.
 * @param {string} note
 * @returns {Uint8Array} 512 bytes
 */
export function padNote(note) {
    if (typeof note !== "string") throw new TypeError("a note is a string");
    const text = new TextEncoder().encode(note);
    if (text.length > NOTE_MAX_BYTES) fail("noteTooLong", `a note is at most ${NOTE_MAX_BYTES} bytes of UTF-8, got ${text.length}`);
    const padded = new Uint8Array(NOTE_PADDED_BYTES);
    padded.set([text.length >>> 8, text.length & 0xff]);
    padded.set(text, 2);
    return padded;
}

/**
 * Seals `note` (possibly empty) to the counterpart with the writer's (own role's) note key:
 * nonce || ciphertext || tag, 540 bytes; a note over 510 bytes of UTF-8 is `noteTooLong`. The nonce is random;
 * `options.nonce` (12 bytes) fixes it, for test vectors only: a nonce used twice under one key leaks both notes.
 * @param {object} mark a derived mark (deriveMark)
 * @param {string} note
 * @param {{nonce?: Uint8Array}} options (optional)
 * @returns {Promise<Uint8Array>}
 */
export async function sealNote(mark, note, { nonce } = {}) {
    if (nonce !== undefined && bytesOf(nonce, "nonce").length !== 12) fail("invalidLength", `a nonce is 12 bytes, got ${nonce.length}`);
    const padded = padNote(note);
    const { key } = await deriveNoteKey(mark, mark.selfPosition);
    nonce = nonce === undefined ? crypto.getRandomValues(new Uint8Array(12)) : nonce.slice();
    const sealed = concat(nonce, seal(key, nonce, padded, mark.token));
    key.fill(0);
    return sealed;
}

/**
 * Opens the counterpart's sealed note: `invalidLength` unless 540 bytes, `noteAuthenticationFailed` when the
 * tag does not verify, `invalidNotePadding` for a bad length, non-zero padding or invalid UTF-8.
 * @param {object} mark a mark from deriveMark
 * @param {Uint8Array} sealed 540 bytes
 * @returns {Promise<string>}
 */
export async function openNote(mark, sealed) {
    if (bytesOf(sealed, "sealed note").length !== SEALED_NOTE_BYTES) {
        fail("invalidLength", `a sealed note is ${SEALED_NOTE_BYTES} bytes, got ${sealed.length}`);
    }
    const { key } = await deriveNoteKey(mark, mark.selfPosition === 1 ? 2 : 1);
    let padded;
    try {
        padded = open(key, sealed.subarray(0, 12), sealed.subarray(12), mark.token);
    } catch (error) {
        if (error instanceof AuthenticationError) fail("noteAuthenticationFailed", "the sealed note does not authenticate");
        throw error;
    } finally {
        key.fill(0);
    }
    const length = (padded[0] << 8) | padded[1];
    if (length > NOTE_MAX_BYTES) fail("invalidNotePadding", "note length out of range");
    if (padded.subarray(2 + length).some((b) => b !== 0)) fail("invalidNotePadding", "padding bytes are not zero");
    try {
        // ignoreBOM keeps a leading U+FEFF as text, as every other decoder of the note does.
        return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(padded.subarray(2, 2 + length));
    } catch {
        fail("invalidNotePadding", "the note is not valid UTF-8");
    }
}

/**
 * Section 8: a dummy mark, indistinguishable from a real one on the wire.
 * @returns {{token: Uint8Array, tag: Uint8Array, note: Uint8Array}}
 */
export function dummyMark() {
    const random = (n) => crypto.getRandomValues(new Uint8Array(n));
    return { token: random(32), tag: random(32), note: random(SEALED_NOTE_BYTES) };
}

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
