// @ts-check
// What this browser keeps of a membership, a port of the Swift client's MemberState.swift: IndexedDB (the state
// in the JSON shape of the CLI's state.json, the key, its sealed copy and the device key) and the wrapping of the
// private key. The private X25519 key is a non-extractable CryptoKey; a copy of its 32 raw bytes is kept
// encrypted under a separate non-extractable AES-GCM "device key", only for a key backup the member asks for
// (SECURITY.md, "The web app").

import { base64urlDecode, base64urlEncode, fromHex, importPrivateKey, toHex } from "./reciprocity.js";
import { ClientError } from "./server-api.js";

const subtle = crypto.subtle;

/**
 * One mark as this device remembers it (MemberState.swift's LocalMark); a dummy has no `handle`.
 * @typedef {{handle?: string, wants?: "mentor" | "mentee" | "peer", epoch: number, token: string, ownTag: string,
 *   counterpartTag?: string, createdAt: string, matchedAt?: string, note?: string, waitingForTrust?: boolean}} LocalMark
 */
/**
 * The state as the CLI's state.json holds it (MemberState.swift); keys and tokens base64url, dates ISO 8601.
 * @typedef {{server: string, program: string, handle: string, credential: string, pinnedKeys: Record<string, string>,
 *   marks: LocalMark[], padTo?: number, logKey?: string, treeHead?: string, retiredKeys?: string[],
 *   resubmitPending?: boolean, replica?: object, ownLogKey?: string, epoch?: number}} MemberState
 */
/**
 * A key's raw bytes sealed under the device key (AES-GCM).
 * @typedef {{iv: Uint8Array, data: Uint8Array}} SealedKey
 */

// --- IndexedDB -------------------------------------------------------------------------------------------

const DB_NAME = "reciprocity";
const STORE = "kv";

/**
 * An IndexedDB request as a promise (this database's and the directory replica's).
 * @param {IDBRequest} req
 * @returns {Promise<any>}
 */
export function request(req) {
    return new Promise((resolve, reject) => {
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
    });
}

/**
 * An IndexedDB transaction's end as a promise: resolved when it commits, rejected when it fails or aborts (then
 * none of its writes happened). Call it before awaiting anything else, or the transaction may end unobserved.
 * @param {IDBTransaction} tx
 * @returns {Promise<void>}
 */
export function committed(tx) {
    return new Promise((resolve, reject) => {
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error("aborted"));
    });
}

/**
 * Deletes an IndexedDB database; once other tabs close it, if they hold it open.
 * @param {string} name
 * @returns {Promise<void>}
 */
export function deleteDatabase(name) {
    return new Promise((resolve, reject) => {
        const req = indexedDB.deleteDatabase(name);
        req.onsuccess = () => resolve();
        req.onerror = () => reject(req.error);
        req.onblocked = () => resolve(); // deleted once other tabs close it
    });
}

function openDB() {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    return request(req);
}

/**
 * Reads `keys` in one transaction.
 * @param {string[]} keys
 * @returns {Promise<any[]>}
 */
export async function idbGet(keys) {
    const db = await openDB();
    try {
        const store = db.transaction(STORE, "readonly").objectStore(STORE);
        return await Promise.all(keys.map((key) => request(store.get(key))));
    } finally {
        db.close();
    }
}

/**
 * Writes every entry of `values` (undefined deletes) in one transaction: all or nothing.
 * @param {Record<string, any>} values
 * @returns {Promise<void>}
 */
export async function idbPut(values) {
    const db = await openDB();
    try {
        const tx = db.transaction(STORE, "readwrite");
        const store = tx.objectStore(STORE);
        for (const [key, value] of Object.entries(values)) {
            if (value === undefined) store.delete(key);
            else store.put(value, key);
        }
        await committed(tx);
    } finally {
        db.close();
    }
}

/**
 * "Forget this device": deletes the whole database (key, copy, device key, state).
 * @returns {Promise<void>}
 */
export async function forgetDevice() {
    await deleteDatabase(DB_NAME);
}

// --- keys ------------------------------------------------------------------------------------------------

const PKCS8_PREFIX = "302e020100300506032b656e04220420";

/**
 * A key as this page keeps it: the non-extractable X25519 CryptoKey used for every derivation, and its raw bytes
 * sealed under the device key (AES-GCM, itself non-extractable) for a backup.
 * @param {Uint8Array} raw 32 bytes
 * @param {CryptoKey} deviceKey
 * @returns {Promise<{privateKey: CryptoKey, sealed: SealedKey}>}
 */
export async function keepKey(raw, deviceKey) {
    const privateKey = await importPrivateKey(raw); // non-extractable
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv }, deviceKey, raw));
    return { privateKey, sealed: { iv, data: sealed } };
}

/**
 * A new key pair: generated extractable only to take the one sealed copy, then used non-extractable.
 * @param {CryptoKey} deviceKey
 * @returns {Promise<{privateKey: CryptoKey, sealed: SealedKey}>}
 */
export async function newKey(deviceKey) {
    const pair = /** @type {CryptoKeyPair} */ (await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]));
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
    if (toHex(pkcs8.subarray(0, 16)) !== PKCS8_PREFIX) throw new ClientError("key-format", "the browser exported an unexpected key format");
    const raw = pkcs8.slice(16);
    pkcs8.fill(0);
    try {
        return await keepKey(raw, deviceKey);
    } finally {
        raw.fill(0);
    }
}

/**
 * @returns {Promise<CryptoKey>}
 */
export function newDeviceKey() {
    return subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}
/**
 * The 32 raw bytes of the private key, decrypted from its copy under the device key. Only for a backup.
 * @param {CryptoKey} deviceKey
 * @returns {Promise<Uint8Array>}
 */
export async function unsealKey(deviceKey) {
    const [sealed] = await idbGet(["sealedKey"]);
    if (!sealed) throw new ClientError("no-key-copy", "this browser keeps no copy of the key to back up");
    return new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: sealed.iv }, deviceKey, sealed.data));
}

// --- the state's values ----------------------------------------------------------------------------------

/**
 * A date as Swift's JSONEncoder `.iso8601` writes it (no fractional seconds): the CLI reads the same state.
 * @returns {string}
 */
export function isoNow() {
    return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** @type {(bytes: Uint8Array) => string} */
export const b64 = base64urlEncode;
/** @type {(hex: string) => string} */
export const hexToB64 = (hex) => b64(fromHex(hex));
/** @type {(text: string) => string} */
export const b64ToHex = (text) => toHex(base64urlDecode(text, 32));
/** @type {<T>(value: T) => T} */
export const clone = (value) => structuredClone(value);

/** @type {(mark: LocalMark) => boolean} */
export const isDummy = (mark) => mark.handle === undefined || mark.handle === null;
/** @type {(mark: LocalMark) => boolean} */
export const isPending = (mark) => !mark.matchedAt;
/** @type {(mark: LocalMark, epoch: number) => boolean} */
export const isWanted = (mark, epoch) => mark.epoch === epoch && isPending(mark) && mark.waitingForTrust !== true;

/**
 * Drops keys whose value is undefined or null, as Swift's encoder leaves nil optionals out.
 * @param {Record<string, any>} object
 * @returns {Record<string, any>}
 */
export function compact(object) {
    return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined && value !== null));
}

/**
 * `state` as the CLI's state.json holds it (MemberState), as JSON text: nil optionals left out, same order.
 * @param {MemberState} s
 * @returns {string}
 */
export function stateText(s) {
    return JSON.stringify(compact({
        server: s.server, program: s.program, handle: s.handle, credential: s.credential,
        pinnedKeys: s.pinnedKeys, marks: s.marks.map(compact), padTo: s.padTo, logKey: s.logKey, treeHead: s.treeHead,
        retiredKeys: s.retiredKeys, resubmitPending: s.resubmitPending, replica: s.replica, ownLogKey: s.ownLogKey,
        epoch: s.epoch,
    }), null, 2);
}
