// @ts-check
// The conversation after a match, Specs/messages.md: a Double Ratchet (Signal's, without header encryption)
// rooted in the pair's static X25519 secret and the match token, over the envelope every client and the server
// share: 0x01 || ratchet public key (32) || BE32(PN) || BE32(N) || ChaCha20-Poly1305 of the padded payload.
//
// X25519, HKDF-SHA256 and HMAC-SHA256 are WebCrypto's (through ./reciprocity.js), ChaCha20-Poly1305 is
// ./chacha20poly1305.js. A conversation state is a plain object of Uint8Arrays and the member's static private
// CryptoKey (side A's until its first DH ratchet step, side B's always: it opens A's first chains): secret, to be
// kept by structured clone (IndexedDB), never sent anywhere. Every function returns a new state and leaves the one it was given untouched, so a refused
// envelope changes nothing. Errors are ReciprocityError with the codes of Specs/messages.md section 7.

import { AuthenticationError, open, seal } from "./chacha20poly1305.js";
import { ReciprocityError, checkName, checkPublicKey, concat, hkdf, hmacSha256, importPrivateKey, publicKeyOf, x25519 } from "./reciprocity.js";

const encoder = new TextEncoder();
const ROOT = encoder.encode("reciprocity/v1 messages root");
const RATCHET = encoder.encode("reciprocity/v1 messages ratchet");
const KEY = encoder.encode("reciprocity/v1 messages key");
const AD = encoder.encode("reciprocity/v1 messages");
const FIRST = encoder.encode("reciprocity/v1 messages first chain");
/** The PN of a message on side A's first chain; no other chain's PN reaches it. */
const FIRST_MARKER = 0xffffffff;
export const MAX_FIRST_CHAINS = 20;
/** The padded plaintext sizes, smallest first (MessageEnvelope.paddedSizes). */
export const PADDED_SIZES = Object.freeze([256, 1024, 4096]);
export const HEADER_BYTES = 41;
export const MAX_PAYLOAD_BYTES = 4094;
export const MAX_SKIP = 100;
export const MAX_SKIPPED_KEYS = 1000;
const REMEMBERED_KEYS = 20;
const ZEROS = new Uint8Array(32);

/**
 * @typedef {{ratchetKey: Uint8Array, number: number, messageKey: Uint8Array}} SkippedKey
 * @typedef {{ratchetKey: Uint8Array, chainKey: Uint8Array, received: number}} FirstChain
 * @typedef {object} ConversationState
 * @property {boolean} isA
 * @property {string} program
 * @property {number} epoch
 * @property {Uint8Array} token
 * @property {Uint8Array} ownStaticKey
 * @property {Uint8Array} rootKey
 * @property {CryptoKey | Uint8Array} sendingPrivateKey the static CryptoKey (A's first chain) or 32 raw bytes
 * @property {Uint8Array} sendingPublicKey
 * @property {Uint8Array} sendingChain
 * @property {number} sent
 * @property {number} previousLength
 * @property {Uint8Array | null} receivingKey
 * @property {Uint8Array | null} receivingChain
 * @property {number} received
 * @property {SkippedKey[]} skipped
 * @property {Uint8Array[]} retiredPeerKeys
 * @property {Uint8Array[]} retiredOwnKeys
 * @property {Uint8Array | null} firstRatchetKey A: a0's public key while A sends on its first chain
 * @property {Uint8Array | null} rootSecret B: SK, which with B's static key opens A's first chains
 * @property {CryptoKey | null} staticPrivateKey B: its static private key
 * @property {FirstChain[]} firstChains B: the first chains read so far (at most MAX_FIRST_CHAINS)
 */

/** @returns {never} */
function fail(code, reason) {
    throw new ReciprocityError(code, reason);
}

const lp = (...fields) => concat(...fields.flatMap((f) => [Uint8Array.of(f.length >>> 8, f.length & 0xff), f]));
const be32 = (n) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const readBe32 = (b, at) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const equal = (a, b) => a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]);
const before = (a, b) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
};
const bounded = (list, item) => [...list, item].slice(-REMEMBERED_KEYS);

/** KDF_RK (section 4): the next root key and a chain key. */
async function rootStep(rootKey, dh) {
    const out = await hkdf(dh, rootKey, lp(RATCHET), 64);
    return [out.slice(0, 32), out.slice(32)];
}

/** A first chain's key (section 5): HKDF(salt = SK, IKM = X25519(a0, B static), LP(FIRST), 32). */
async function firstChainKey(rootSecret, dh) {
    return hkdf(dh, rootSecret, lp(FIRST), 32);
}

/** KDF_CK: the message key and the next chain key. */
async function chainStep(chainKey) {
    return [await hmacSha256(chainKey, Uint8Array.of(1)), await hmacSha256(chainKey, Uint8Array.of(2))];
}

async function aeadKey(messageKey) {
    const out = await hkdf(messageKey, ZEROS, lp(KEY), 44);
    return { key: out.slice(0, 32), nonce: out.slice(32) };
}

function associatedData(state, senderIsA, header) {
    const direction = encoder.encode(senderIsA ? "a-to-b" : "b-to-a");
    return lp(AD, encoder.encode(state.program), be32(state.epoch), state.token, direction, header);
}

async function privateKeyOf(key) {
    return key instanceof Uint8Array ? importPrivateKey(key) : key;
}

/** A fresh ratchet private key: 32 random bytes (X25519 clamps them). */
function randomRatchetKey() {
    return crypto.getRandomValues(new Uint8Array(32));
}

/**
 * Section 5: the state of one member at the start of the conversation of a verified match. Side A is the member
 * whose static public key sorts first. Each side generates a fresh ratchet key here (`options.ratchetKey`, 32
 * bytes, fixes it: for test vectors only): A's a0 for its first chain, B's b1. A start after a restore repeats no
 * message key, but cannot read the peer's messages on the peer's later chains (section 5).
 * @param {{program: string, epoch: number, token: Uint8Array, privateKey: CryptoKey, handle: string,
 *   peerHandle: string, peerPublicKey: Uint8Array}} input
 * @param {{ratchetKey?: () => Uint8Array}} options (optional)
 * @returns {Promise<{state: ConversationState, side: "A" | "B", staticSharedSecret: Uint8Array, rootInfo: Uint8Array, rootSecret: Uint8Array}>}
 */
export async function startConversation(input, { ratchetKey = randomRatchetKey } = {}) {
    const { program, epoch, token, privateKey, handle, peerHandle, peerPublicKey } = input;
    checkName(program, "invalidProgram");
    checkName(handle, "invalidHandle");
    checkName(peerHandle, "invalidHandle");
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xffffffff) fail("invalidEpoch", "an epoch is an integer from 0 to 4294967295");
    if (!(token instanceof Uint8Array) || token.length !== 32) fail("invalidLength", "a token is 32 bytes");
    checkPublicKey(peerPublicKey);
    const ownPublic = await publicKeyOf(privateKey);
    if (handle === peerHandle || equal(ownPublic, peerPublicKey)) {
        fail("selfMark", "a conversation needs two members (same handle or same public key)");
    }
    const isA = before(ownPublic, peerPublicKey);
    const own = [encoder.encode(handle), ownPublic];
    const peer = [encoder.encode(peerHandle), peerPublicKey];
    const dh0 = await x25519(privateKey, peerPublicKey);
    const rootInfo = lp(ROOT, encoder.encode(program), be32(epoch), ...(isA ? [...own, ...peer] : [...peer, ...own]));
    const rootSecret = await hkdf(dh0, token, rootInfo, 32);
    const fresh = ratchetKey();
    /** @type {ConversationState} */
    let state = {
        isA, program, epoch, token: token.slice(), ownStaticKey: ownPublic, rootKey: rootSecret, sendingPrivateKey: privateKey,
        sendingPublicKey: ownPublic, sendingChain: rootSecret, sent: 0, previousLength: 0, receivingKey: null,
        receivingChain: null, received: 0, skipped: [], retiredPeerKeys: [], retiredOwnKeys: [],
        firstRatchetKey: null, rootSecret: null, staticPrivateKey: null, firstChains: [],
    };
    if (isA) {
        // A's first chain hangs off a0 and leaves the root at SK; a0's private half is not kept.
        const a0 = await importPrivateKey(fresh);
        const sendingChain = await firstChainKey(rootSecret, await x25519(a0, peerPublicKey));
        state = { ...state, sendingChain, firstRatchetKey: await publicKeyOf(a0) };
    } else {
        state = await startSendingChain({ ...state, receivingKey: peerPublicKey.slice(), rootSecret, staticPrivateKey: privateKey }, fresh);
        state.retiredOwnKeys = [];
    }
    return { state, side: isA ? "A" : "B", staticSharedSecret: dh0, rootInfo, rootSecret };
}

/** The sending half of a DH ratchet step with the raw private key `raw`. */
async function startSendingChain(state, raw) {
    const key = await importPrivateKey(raw);
    const publicKey = await publicKeyOf(key);
    const [rootKey, sendingChain] = await rootStep(state.rootKey, await x25519(key, /** @type {Uint8Array} */ (state.receivingKey)));
    return {
        ...state, rootKey, sendingChain, sendingPrivateKey: raw.slice(), sendingPublicKey: publicKey,
        retiredOwnKeys: bounded(state.retiredOwnKeys, state.sendingPublicKey),
    };
}

/**
 * BE16(len) || payload || zeros, to the smallest padded size that holds it; over 4,094 bytes is `messageTooLong`.
 * @param {Uint8Array} payload
 */
export function padPayload(payload) {
    const size = PADDED_SIZES.find((s) => s >= payload.length + 2) ?? fail("messageTooLong", `a message is at most ${MAX_PAYLOAD_BYTES} bytes of UTF-8, got ${payload.length}`);
    const padded = new Uint8Array(size);
    padded.set([payload.length >>> 8, payload.length & 0xff]);
    padded.set(payload, 2);
    return padded;
}

/**
 * Section 6: seals `payload` (a string, sent as UTF-8) as the next message.
 * @param {ConversationState} state
 * @param {string} payload
 * @returns {Promise<{state: ConversationState, envelope: Uint8Array, associatedData: Uint8Array, key: Uint8Array, nonce: Uint8Array}>}
 */
export async function sealMessage(state, payload) {
    if (typeof payload !== "string") throw new TypeError("a payload is a string");
    return sealPadded(state, padPayload(encoder.encode(payload)));
}

/**
 * Seals an already padded plaintext (tests build malformed ones with it).
 * @param {ConversationState} state
 * @param {Uint8Array} padded
 */
export async function sealPadded(state, padded) {
    if (state.sent >= FIRST_MARKER - 1) fail("messageTooLong", "this sending chain has used every message number");
    const header = state.firstRatchetKey === null
        ? concat(Uint8Array.of(1), state.sendingPublicKey, be32(state.previousLength), be32(state.sent))
        : concat(Uint8Array.of(1), state.firstRatchetKey, be32(FIRST_MARKER), be32(state.sent));
    const [messageKey, sendingChain] = await chainStep(state.sendingChain);
    const { key, nonce } = await aeadKey(messageKey);
    const ad = associatedData(state, state.isA, header);
    const envelope = concat(header, seal(key, nonce, padded, ad));
    return { state: { ...state, sendingChain, sent: state.sent + 1 }, envelope, associatedData: ad, key, nonce };
}

/**
 * Section 7, "skip to n" on the chain `chain` ({ratchetKey, chainKey, received}, changed in place): stores the
 * skipped message keys in `s` (a copy of the state).
 */
async function skipChain(s, chain, until) {
    if (until > chain.received + MAX_SKIP) fail("messageOutsideWindow", `the envelope is more than ${MAX_SKIP} messages ahead of its chain`);
    while (chain.received < until) {
        const [messageKey, next] = await chainStep(chain.chainKey);
        s.skipped.push({ ratchetKey: chain.ratchetKey, number: chain.received, messageKey });
        chain.chainKey = next;
        chain.received += 1;
    }
    s.skipped = s.skipped.slice(-MAX_SKIPPED_KEYS);
}

/** The same on the current receiving chain of `s` (nothing when there is none). */
async function skip(s, until) {
    if (s.receivingChain === null) return;
    const chain = { ratchetKey: /** @type {Uint8Array} */ (s.receivingKey), chainKey: s.receivingChain, received: s.received };
    await skipChain(s, chain, until);
    s.receivingChain = chain.chainKey;
    s.received = chain.received;
}

/** Section 7 step 3: the message key of message `number` of the first chain of A's ratchet key `a0`. */
async function firstChainMessageKey(s, a0, number) {
    if (s.rootSecret === null || s.staticPrivateKey === null) fail("messageWrongSide", "only side A sends on a first chain: this envelope is A's own");
    const found = s.skipped.findIndex((k) => equal(k.ratchetKey, a0) && k.number === number);
    if (found >= 0) return s.skipped.splice(found, 1)[0].messageKey;
    let index = s.firstChains.findIndex((c) => equal(c.ratchetKey, a0));
    if (index < 0) {
        if (s.firstChains.length >= MAX_FIRST_CHAINS) fail("messageOutsideWindow", `side A has started this conversation ${MAX_FIRST_CHAINS} times`);
        const chainKey = await firstChainKey(s.rootSecret, await x25519(s.staticPrivateKey, a0));
        s.firstChains = [...s.firstChains, { ratchetKey: a0, chainKey, received: 0 }];
        index = s.firstChains.length - 1;
    }
    const chain = { ...s.firstChains[index] };
    if (number < chain.received) fail("messageReplayed", `message ${number} of this first chain was already read`);
    await skipChain(s, chain, number);
    const [messageKey, chainKey] = await chainStep(chain.chainKey);
    s.firstChains = s.firstChains.map((c, i) => (i === index ? { ...chain, chainKey, received: number + 1 } : c));
    return messageKey;
}

/**
 * Section 7: opens an envelope from the peer. Refusals: `messageMalformed`, `messageWrongSide`, `messageReplayed`,
 * `messageOutsideWindow`, `messageAuthenticationFailed`, `invalidMessagePadding`; the given state never changes.
 * `options.ratchetKey` supplies the key of a DH ratchet step (test vectors only); it is called only when the
 * envelope opens and starts a new chain.
 * @param {ConversationState} state
 * @param {Uint8Array} envelope
 * @param {{ratchetKey?: () => Uint8Array}} options (optional)
 * @returns {Promise<{state: ConversationState, payload: string}>}
 */
export async function openMessage(state, envelope, { ratchetKey = randomRatchetKey } = {}) {
    if (!(envelope instanceof Uint8Array) || envelope[0] !== 1 || !PADDED_SIZES.some((s) => HEADER_BYTES + s + 16 === envelope.length)) {
        fail("messageMalformed", "an envelope is version 1 and 313, 1,081 or 4,153 bytes long");
    }
    const header = envelope.slice(0, HEADER_BYTES);
    const peerKey = envelope.slice(1, 33);
    const previousLength = readBe32(envelope, 33);
    const number = readBe32(envelope, 37);
    try {
        checkPublicKey(peerKey);
    } catch {
        fail("messageMalformed", "the envelope's ratchet key is not a valid public key");
    }
    if ([state.ownStaticKey, state.sendingPublicKey, ...state.retiredOwnKeys].some((k) => equal(k, peerKey))) {
        fail("messageWrongSide", "the envelope carries this member's own ratchet key");
    }
    const s = { ...state, skipped: [...state.skipped] };
    let messageKey;
    let newChain = false;
    const found = s.skipped.findIndex((k) => equal(k.ratchetKey, peerKey) && k.number === number);
    if (previousLength === FIRST_MARKER) {
        messageKey = await firstChainMessageKey(s, peerKey, number);
    } else if (found >= 0) {
        messageKey = s.skipped.splice(found, 1)[0].messageKey;
    } else if (equal(peerKey, s.receivingKey) && s.receivingChain !== null) {
        if (number < s.received) fail("messageReplayed", `message ${number} of this chain was already read`);
        await skip(s, number);
        [messageKey, s.receivingChain] = await chainStep(s.receivingChain);
        s.received = number + 1;
    } else if (s.retiredPeerKeys.some((k) => equal(k, peerKey))) {
        fail("messageReplayed", "this message's chain is closed and its key was already used");
    } else {
        await skip(s, previousLength);
        if (s.receivingKey !== null) s.retiredPeerKeys = bounded(s.retiredPeerKeys, s.receivingKey);
        s.previousLength = s.sent;
        s.sent = 0;
        s.received = 0;
        s.receivingKey = peerKey;
        const dh = await x25519(await privateKeyOf(s.sendingPrivateKey), peerKey);
        [s.rootKey, s.receivingChain] = await rootStep(s.rootKey, dh);
        await skip(s, number);
        [messageKey, s.receivingChain] = await chainStep(/** @type {Uint8Array} */ (s.receivingChain));
        s.received = number + 1;
        newChain = true;
    }
    const { key, nonce } = await aeadKey(messageKey);
    let padded;
    try {
        padded = open(key, nonce, envelope.subarray(HEADER_BYTES), associatedData(s, !s.isA, header));
    } catch (error) {
        if (error instanceof AuthenticationError) fail("messageAuthenticationFailed", "the envelope does not authenticate");
        throw error;
    }
    const length = (padded[0] << 8) | padded[1];
    if (length > padded.length - 2 || PADDED_SIZES.find((size) => size >= length + 2) !== padded.length
        || padded.subarray(2 + length).some((b) => b !== 0)) {
        fail("invalidMessagePadding", "the padded message is malformed");
    }
    let payload;
    try {
        payload = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(padded.subarray(2, 2 + length));
    } catch {
        fail("invalidMessagePadding", "the message is not valid UTF-8");
    }
    return { state: newChain ? { ...(await startSendingChain(s, ratchetKey())), firstRatchetKey: null } : s, payload };
}
