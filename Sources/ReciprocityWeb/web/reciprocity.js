// @ts-check
// Reciprocity protocol v1 in the browser: one dependency-free ES module for the members' web app and for
// any other web integrator. It implements Specs/protocol.md (names, keys, the key schedule, marks and
// confirmation tags, sealed notes, dummy marks, the base64url wire encoding), with the error codes of the spec
// and of Specs/vectors/. Specs/transparency.md (the key log and its checks) is ./transparency.js, built on this.
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
/** A string's bytes (ASCII text of the spec's labels; UTF-8 in general). */
export const ascii = (text) => encoder.encode(text);

/** A protocol failure with a stable `code` from the spec (e.g. `invalidHandle`, `log-fork`). */
export class ReciprocityError extends Error {
    constructor(code, reason) {
        super(`${code}: ${reason}`);
        this.name = "ReciprocityError";
        this.code = code;
    }
}

/**
 * Throws a `ReciprocityError` (also for ./transparency.js).
 * @returns {never}
 */
export function fail(code, reason) {
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

/** `value` if it is a Uint8Array, else a TypeError naming `what` (also for ./transparency.js). */
export function bytesOf(value, what) {
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

/** LP(x) = BE16(len(x)) || x. Every field here is at most 255 bytes (also for ./transparency.js). */
export function lp(field) {
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
