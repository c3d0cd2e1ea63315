// @ts-check
// Reciprocity key backups in the browser (Specs/backup.md): the member's private key and state, encrypted
// under a passphrase with PBKDF2-HMAC-SHA256 and AES-256-GCM (both WebCrypto), in the same file the command
// line writes and reads (`reciprocity key export` / `reciprocity key import`).
//
// exportBackup({privateKey, state}, passphrase, {iterations}) -> Promise<string>  (the file's text)
// importBackup(file, passphrase) -> Promise<{privateKey, state, iterations}>  (file: a File/Blob, its bytes, or text)
// Failures are ReciprocityError with the codes of Specs/backup.md section 8 (backupWrongPassphrase, ...).

import { ReciprocityError, base64urlDecode, base64urlEncode, constantTimeEqual } from "./reciprocity.js";

const subtle = globalThis.crypto.subtle;

export const FORMAT = "reciprocity-key-backup";
export const VERSION = 1;
export const KDF = "PBKDF2-HMAC-SHA256";
export const CIPHER = "AES-256-GCM";
/** Section 5: what a reader accepts. */
export const READER_MIN_ITERATIONS = 1000;
export const READER_MAX_ITERATIONS = 10_000_000;
/** Section 7: the least a writer uses (OWASP's figure for PBKDF2-HMAC-SHA256), and what this module writes. */
export const MIN_ITERATIONS = 600_000;
export const DEFAULT_ITERATIONS = 1_000_000;
export const MIN_PASSPHRASE_CHARACTERS = 15;
export const MAX_PASSPHRASE_BYTES = 1024;
export const MAX_FILE_BYTES = 64 << 20;
/** Section 2.1 rule 3: arrays and objects nest at most this deep (the outermost value is level 1). */
export const MAX_JSON_DEPTH = 512;
const FIELDS = ["format", "version", "kdf", "iterations", "salt", "cipher", "nonce", "ciphertext", "checksum"];

/**
 * @param {string} code
 * @param {string} reason
 * @returns {never}
 */
function fail(code, reason) {
    throw new ReciprocityError(code, reason);
}

const utf8 = (text) => new TextEncoder().encode(text);

/** Section 4: NFC, then UTF-8 (a lone surrogate becomes U+FFFD, as TextEncoder and every UTF-8 encoder make it). */
export function normalizePassphrase(passphrase) {
    if (typeof passphrase !== "string") throw new TypeError("a passphrase is a string");
    return utf8(passphrase.normalize("NFC"));
}

/** Section 4: a writer's limits. */
export function checkWriterPassphrase(passphrase) {
    const bytes = normalizePassphrase(passphrase);
    if ([...passphrase.normalize("NFC")].length < MIN_PASSPHRASE_CHARACTERS) {
        fail("backupPassphraseTooShort", `a backup passphrase must be at least ${MIN_PASSPHRASE_CHARACTERS} characters (four or more random words are a good one)`);
    }
    if (bytes.length > MAX_PASSPHRASE_BYTES) fail("backupPassphraseTooLong", `a backup passphrase must be at most ${MAX_PASSPHRASE_BYTES} bytes of UTF-8`);
}

/** Section 3: the AES-GCM associated data, one ASCII line. */
export function associatedData(iterations, salt, nonce) {
    return utf8(`${FORMAT} ${VERSION} ${KDF} ${iterations} ${base64urlEncode(salt)} ${CIPHER} ${base64urlEncode(nonce)}`);
}

/** PBKDF2-HMAC-SHA256 of the normalised passphrase: the AES-256 key's 32 bytes (exposed for the vectors). */
export async function deriveKeyBytes(passphrase, salt, iterations) {
    const base = await subtle.importKey("raw", normalizePassphrase(passphrase), "PBKDF2", false, ["deriveBits"]);
    return new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256));
}

async function aesKey(passphrase, salt, iterations, usage) {
    const base = await subtle.importKey("raw", normalizePassphrase(passphrase), "PBKDF2", false, ["deriveKey"]);
    return subtle.deriveKey({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, { name: "AES-GCM", length: 256 }, false, [usage]);
}

/** Section 3: SHA-256(associated data || 0x0a || ciphertext). */
async function checksumOf(ad, ciphertext) {
    const input = new Uint8Array(ad.length + 1 + ciphertext.length);
    input.set(ad);
    input[ad.length] = 0x0a;
    input.set(ciphertext, ad.length + 1);
    return new Uint8Array(await subtle.digest("SHA-256", input));
}

/** Canonical unpadded base64url of any length (the length follows from the text). */
function decodeAny(text, what) {
    if (typeof text !== "string" || text.length % 4 === 1) fail("backupMalformed", `the backup's ${what} is not base64url`);
    return decodeField(text, Math.floor((text.length * 6) / 8), what);
}

function decodeField(text, length, what) {
    try {
        return base64urlDecode(text, length);
    } catch {
        return fail("backupMalformed", `the backup's ${what} is not canonical base64url of ${length} bytes`);
    }
}

/**
 * Section 2.1: JSON.parse (the last of duplicate names counts, numbers are binary64), after one leading U+FEFF
 * is dropped and with the depth limit JSON.parse lacks. Returns undefined for text that is not JSON.
 */
function parseJSON(text) {
    if (text.startsWith("\ufeff")) text = text.slice(1);
    // Brackets outside strings: exact for valid JSON, and invalid JSON is refused by JSON.parse anyway.
    let depth = 0;
    for (const [token] of text.matchAll(/"(?:[^"\\]|\\.)*"|[[{]|[\]}]/g)) {
        if (token === "[" || token === "{") {
            if (++depth > MAX_JSON_DEPTH) return undefined;
        } else if (token === "]" || token === "}") {
            depth--;
        }
    }
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

/** Section 2.1 rule 1: strict UTF-8 (a byte order mark dropped); undefined for anything else. */
function decodeUTF8(bytes) {
    try {
        return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
        return undefined;
    }
}

/** Section 6: a JSON object of exactly `privateKey` (32 bytes of base64url) and `state` (an object). */
function parsePayload(bytes) {
    const text = decodeUTF8(bytes);
    const payload = text === undefined ? undefined : parseJSON(text);
    const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isObject(payload)) fail("backupInvalidPayload", "the backup opened, but does not hold a JSON object");
    if (Object.keys(payload).sort().join() !== "privateKey,state") {
        fail("backupInvalidPayload", "the backup opened, but does not hold exactly a private key and a state");
    }
    if (!isObject(payload.state)) fail("backupInvalidPayload", "the backup opened, but its state is not an object");
    let privateKey;
    try {
        privateKey = base64urlDecode(payload.privateKey, 32);
    } catch {
        fail("backupInvalidPayload", "the backup opened, but its private key is not 32 bytes of base64url");
    }
    return { privateKey, state: payload.state };
}

/** Section 2: the writer's text, fields in this order, two-space indentation, a final line feed. */
function fileText(iterations, salt, nonce, ciphertext, checksum) {
    const fields = {
        format: FORMAT, version: VERSION, kdf: KDF, iterations, salt: base64urlEncode(salt), cipher: CIPHER,
        nonce: base64urlEncode(nonce), ciphertext: base64urlEncode(ciphertext), checksum: base64urlEncode(checksum),
    };
    return JSON.stringify(fields, null, 2) + "\n";
}

/**
 * Seals payload bytes (the JSON text of `{privateKey, state}`) into a backup file's text. The format's rules
 * only (passphrase limits, 1000 to 10,000,000 iterations): `exportBackup` adds the writer's 600,000 floor.
 * `salt` and `nonce` are fresh random bytes unless given (the test vectors give them).
 * @param {Uint8Array} payload
 * @param {string} passphrase
 * @param {{iterations?: number, salt?: Uint8Array, nonce?: Uint8Array}} options (optional)
 * @returns {Promise<string>}
 */
export async function sealBackup(payload, passphrase, { iterations = DEFAULT_ITERATIONS, salt, nonce } = {}) {
    checkWriterPassphrase(passphrase);
    if (!Number.isSafeInteger(iterations) || iterations < READER_MIN_ITERATIONS || iterations > READER_MAX_ITERATIONS) {
        fail("backupIterationsOutOfRange", `a backup's iteration count must be ${READER_MIN_ITERATIONS} to ${READER_MAX_ITERATIONS}`);
    }
    parsePayload(payload);
    salt ??= crypto.getRandomValues(new Uint8Array(16));
    nonce ??= crypto.getRandomValues(new Uint8Array(12));
    if (salt.length !== 16 || nonce.length !== 12) throw new TypeError("a salt is 16 bytes and a nonce 12");
    const ad = associatedData(iterations, salt, nonce);
    const key = await aesKey(passphrase, salt, iterations, "encrypt");
    const ciphertext = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: ad, tagLength: 128 }, key, payload));
    return fileText(iterations, salt, nonce, ciphertext, await checksumOf(ad, ciphertext));
}

/**
 * Section 5, steps 1 to 3: the file's fields, checked for shape. `file` is the file's bytes (a Uint8Array or an
 * ArrayBuffer: they must be UTF-8) or its text. Returns `{iterations, salt, nonce, ciphertext, checksum}`;
 * iterations and checksum are checked by `openBackup`.
 */
export function parseBackup(file) {
    const bytes = file instanceof ArrayBuffer ? new Uint8Array(file) : file;
    if (typeof bytes !== "string" && !(bytes instanceof Uint8Array)) throw new TypeError("a backup is bytes or text");
    if ((typeof bytes === "string" ? utf8(bytes) : bytes).length > MAX_FILE_BYTES) fail("backupMalformed", "a key backup is at most 64 MiB");
    const text = typeof bytes === "string" ? bytes : decodeUTF8(bytes);
    const data = text === undefined ? undefined : parseJSON(text);
    if (data === undefined) fail("backupMalformed", "this is not a Reciprocity key backup (not UTF-8 JSON)");
    if (typeof data !== "object" || data === null || Array.isArray(data) || data.format !== FORMAT) {
        fail("backupMalformed", `this is not a Reciprocity key backup (no "format": "${FORMAT}")`);
    }
    // Section 2.1 rule 6: any integer counts (2^64 is one), and only 1 is this version.
    if (!Number.isInteger(data.version)) fail("backupMalformed", "the backup has no integer version");
    if (data.version !== VERSION) fail("backupUnsupportedVersion", `this backup is of format version ${data.version}; this page reads version ${VERSION} only`);
    const unknown = Object.keys(data).find((key) => !FIELDS.includes(key));
    if (unknown !== undefined) fail("backupMalformed", `the backup has an unknown field '${unknown}'`);
    if (data.kdf !== KDF) fail("backupMalformed", `the backup's kdf is not ${KDF}`);
    if (data.cipher !== CIPHER) fail("backupMalformed", `the backup's cipher is not ${CIPHER}`);
    // JSON.parse makes any integer a Number: one beyond 2^53 is still an integer, and refused as out of range.
    if (!Number.isInteger(data.iterations)) fail("backupMalformed", "the backup's iterations is not an integer");
    for (const field of ["salt", "nonce", "ciphertext", "checksum"]) {
        if (typeof data[field] !== "string") fail("backupMalformed", `the backup has no ${field}`);
    }
    const salt = decodeField(data.salt, 16, "salt");
    const nonce = decodeField(data.nonce, 12, "nonce");
    const ciphertext = decodeAny(data.ciphertext, "ciphertext");
    if (ciphertext.length <= 16) fail("backupMalformed", "the backup's ciphertext is shorter than its tag");
    const checksum = decodeField(data.checksum, 32, "checksum");
    return { iterations: data.iterations, salt, nonce, ciphertext, checksum };
}

/**
 * Section 5: opens a backup file: a File or Blob, its bytes, or its text (a page reading a file should pass the
 * File itself, so that bytes that are not UTF-8 are refused rather than decoded to U+FFFD). Returns `{privateKey, state, payload, iterations}` (payload: the
 * decrypted JSON bytes). The iteration range is checked before any work, and the checksum before the key
 * derivation, so a damaged file is told apart from a wrong passphrase at once.
 */
export async function openBackup(file, passphrase) {
    const input = typeof Blob !== "undefined" && file instanceof Blob ? new Uint8Array(await file.arrayBuffer()) : file;
    const { iterations, salt, nonce, ciphertext, checksum } = parseBackup(input);
    if (iterations < READER_MIN_ITERATIONS || iterations > READER_MAX_ITERATIONS) {
        fail("backupIterationsOutOfRange", `this backup asks for ${iterations} iterations; a reader accepts ${READER_MIN_ITERATIONS} to ${READER_MAX_ITERATIONS}`);
    }
    const ad = associatedData(iterations, salt, nonce);
    if (!constantTimeEqual(await checksumOf(ad, ciphertext), checksum)) {
        fail("backupDamaged", "the backup file is damaged (its checksum does not match)");
    }
    const key = await aesKey(passphrase, salt, iterations, "decrypt");
    let payload;
    try {
        payload = new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: ad, tagLength: 128 }, key, ciphertext));
    } catch {
        fail("backupWrongPassphrase", "the backup does not open with this passphrase (or it was altered and its checksum recomputed)");
    }
    return { ...parsePayload(payload), payload, iterations, associatedData: ad };
}

/**
 * Writes a backup of `privateKey` (32 raw X25519 bytes) and `state` (the member state, the same JSON shape
 * as the command line's state.json) under `passphrase`; returns the file's text. `iterations` defaults to
 * 1,000,000 and may not be below 600,000.
 */
export async function exportBackup({ privateKey, state }, passphrase, { iterations = DEFAULT_ITERATIONS } = {}) {
    if (!(privateKey instanceof Uint8Array) || privateKey.length !== 32) throw new TypeError("privateKey must be a Uint8Array of 32 bytes");
    if (typeof state !== "object" || state === null || Array.isArray(state)) throw new TypeError("state must be an object");
    if (!Number.isSafeInteger(iterations) || iterations < MIN_ITERATIONS || iterations > READER_MAX_ITERATIONS) {
        fail("backupIterationsOutOfRange", `a backup is written with ${MIN_ITERATIONS} to ${READER_MAX_ITERATIONS} iterations`);
    }
    const payload = utf8(JSON.stringify({ privateKey: base64urlEncode(privateKey), state }));
    try {
        return await sealBackup(payload, passphrase, { iterations });
    } finally {
        payload.fill(0);
    }
}

/** Opens a backup file (a File, its bytes or its text, as `openBackup`): `{privateKey: Uint8Array(32), state, iterations}`. */
export async function importBackup(file, passphrase) {
    const { privateKey, state, payload, iterations } = await openBackup(file, passphrase);
    payload.fill(0);
    return { privateKey, state, iterations };
}
