// @ts-check
// ChaCha20-Poly1305 (RFC 8439) for the browser: WebCrypto has no ChaCha20-Poly1305, and Reciprocity's
// sealed notes (Specs/protocol.md section 7a) need it. One small dependency-free ES module, Uint8Array in
// and out, checked against RFC 8439's own test vectors and Reciprocity's note vectors (Tests/web/).
//
// Only this primitive is written by hand; everything else in reciprocity.js is WebCrypto. Poly1305 uses
// ten 13-bit limbs (as poly1305-donna-16) so every intermediate fits an unsigned 32-bit integer and no
// BigInt or data-dependent branch touches the key. JavaScript gives no hard constant-time guarantee; the
// code avoids secret-dependent branches and indexing, and the tag check compares every byte.

const KEY_LENGTH = 32;
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;

/** Thrown by `open` when the tag does not verify (wrong key, nonce, associated data, or tampering). */
export class AuthenticationError extends Error {
    constructor() {
        super("ChaCha20-Poly1305: the tag does not verify");
        this.name = "AuthenticationError";
    }
}

function requireBytes(value, length, what) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
    if (length !== undefined && value.length !== length) {
        throw new RangeError(`${what} must be ${length} bytes, not ${value.length}`);
    }
}

function rotl(x, n) {
    return (x << n) | (x >>> (32 - n));
}

function readLE32(bytes, offset) {
    return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/**
 * The ChaCha20 block function, RFC 8439 section 2.3: 64 bytes of key stream for `counter`.
 * @param {Uint8Array} key 32 bytes
 * @param {number} counter 32-bit block counter
 * @param {Uint8Array} nonce 12 bytes
 * @returns {Uint8Array} 64 bytes
 */
export function chacha20Block(key, counter, nonce) {
    requireBytes(key, KEY_LENGTH, "key");
    requireBytes(nonce, NONCE_LENGTH, "nonce");
    const out = new Uint8Array(64);
    blockInto(out, keyWords(key), counter, nonceWords(nonce));
    return out;
}

function keyWords(key) {
    return Uint32Array.from({ length: 8 }, (_, i) => readLE32(key, 4 * i));
}

function nonceWords(nonce) {
    return Uint32Array.from({ length: 3 }, (_, i) => readLE32(nonce, 4 * i));
}

// Section 2.3: the state is the constants "expand 32-byte k", the key, the counter and the nonce; 20 rounds
// (10 column and 10 diagonal quarter rounds, section 2.1), then the input is added to the output.
function blockInto(out, key, counter, nonce) {
    const input = new Uint32Array([
        0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
        key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
        counter >>> 0, nonce[0], nonce[1], nonce[2],
    ]);
    const x = Uint32Array.from(input);
    const quarterRound = (a, b, c, d) => {
        x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 16);
        x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 12);
        x[a] += x[b]; x[d] = rotl(x[d] ^ x[a], 8);
        x[c] += x[d]; x[b] = rotl(x[b] ^ x[c], 7);
    };
    for (let round = 0; round < 10; round++) {
        quarterRound(0, 4, 8, 12);
        quarterRound(1, 5, 9, 13);
        quarterRound(2, 6, 10, 14);
        quarterRound(3, 7, 11, 15);
        quarterRound(0, 5, 10, 15);
        quarterRound(1, 6, 11, 12);
        quarterRound(2, 7, 8, 13);
        quarterRound(3, 4, 9, 14);
    }
    for (let i = 0; i < 16; i++) {
        const word = (x[i] + input[i]) >>> 0;
        out[4 * i] = word;
        out[4 * i + 1] = word >>> 8;
        out[4 * i + 2] = word >>> 16;
        out[4 * i + 3] = word >>> 24;
    }
}

/**
 * ChaCha20 encryption (and decryption), RFC 8439 section 2.4: `data` XOR the key stream from `counter` on.
 * @param {Uint8Array} key 32 bytes
 * @param {Uint8Array} nonce 12 bytes
 * @param {number} counter the first block's counter (1 for the AEAD's payload)
 * @param {Uint8Array} data any length up to 256 GiB
 * @returns {Uint8Array} data.length bytes
 */
export function chacha20(key, nonce, counter, data) {
    requireBytes(key, KEY_LENGTH, "key");
    requireBytes(nonce, NONCE_LENGTH, "nonce");
    requireBytes(data, undefined, "data");
    if (!Number.isInteger(counter) || counter < 0 || counter + Math.ceil(data.length / 64) > 2 ** 32) {
        throw new RangeError("ChaCha20: the block counter would overflow 32 bits");
    }
    const k = keyWords(key);
    const n = nonceWords(nonce);
    const stream = new Uint8Array(64);
    const out = new Uint8Array(data.length);
    for (let offset = 0; offset < data.length; offset += 64, counter++) {
        blockInto(stream, k, counter, n);
        const end = Math.min(64, data.length - offset);
        for (let i = 0; i < end; i++) out[offset + i] = data[offset + i] ^ stream[i];
    }
    stream.fill(0);
    return out;
}

/**
 * Poly1305, RFC 8439 section 2.5: the 16-byte one-time authenticator of `message` under a 32-byte key
 * (r, clamped, then s). A key must never authenticate two messages; the AEAD derives one per nonce.
 * @param {Uint8Array} key 32 bytes
 * @param {Uint8Array} message any length
 * @returns {Uint8Array} 16 bytes
 */
export function poly1305(key, message) {
    requireBytes(key, KEY_LENGTH, "key");
    requireBytes(message, undefined, "message");
    const le16 = (bytes, i) => bytes[i] | (bytes[i + 1] << 8);
    // r as ten 13-bit limbs (130 bits), clamped as section 2.5.1 says: the masks clear the top four bits of
    // bytes 3, 7, 11, 15 and the bottom two bits of bytes 4, 8, 12.
    const t = Array.from({ length: 8 }, (_, i) => le16(key, 2 * i));
    const r = new Uint16Array([
        t[0] & 0x1fff,
        ((t[0] >>> 13) | (t[1] << 3)) & 0x1fff,
        ((t[1] >>> 10) | (t[2] << 6)) & 0x1f03,
        ((t[2] >>> 7) | (t[3] << 9)) & 0x1fff,
        ((t[3] >>> 4) | (t[4] << 12)) & 0x00ff,
        (t[4] >>> 1) & 0x1ffe,
        ((t[4] >>> 14) | (t[5] << 2)) & 0x1fff,
        ((t[5] >>> 11) | (t[6] << 5)) & 0x1f81,
        ((t[6] >>> 8) | (t[7] << 8)) & 0x1fff,
        (t[7] >>> 5) & 0x007f,
    ]);
    const s = Array.from({ length: 8 }, (_, i) => le16(key, 16 + 2 * i));
    const h = new Uint32Array(10);
    const d = new Uint32Array(10);
    const block = new Uint8Array(16);

    // Section 2.5.1: each 16-byte block, read little-endian with a 1 appended (bit 128, or after the last
    // byte of a short final block), is added to the accumulator, which is then multiplied by r mod 2^130-5.
    for (let offset = 0; offset < message.length; offset += 16) {
        const length = Math.min(16, message.length - offset);
        block.fill(0);
        block.set(message.subarray(offset, offset + length));
        let hibit = 1 << 11; // bit 128, in the top limb (which starts at bit 117)
        if (length < 16) {
            block[length] = 1;
            hibit = 0;
        }
        const m = Array.from({ length: 8 }, (_, i) => le16(block, 2 * i));
        h[0] += m[0] & 0x1fff;
        h[1] += ((m[0] >>> 13) | (m[1] << 3)) & 0x1fff;
        h[2] += ((m[1] >>> 10) | (m[2] << 6)) & 0x1fff;
        h[3] += ((m[2] >>> 7) | (m[3] << 9)) & 0x1fff;
        h[4] += ((m[3] >>> 4) | (m[4] << 12)) & 0x1fff;
        h[5] += (m[4] >>> 1) & 0x1fff;
        h[6] += ((m[4] >>> 14) | (m[5] << 2)) & 0x1fff;
        h[7] += ((m[5] >>> 11) | (m[6] << 5)) & 0x1fff;
        h[8] += ((m[6] >>> 8) | (m[7] << 8)) & 0x1fff;
        h[9] += (m[7] >>> 5) | hibit;

        // h * r, with limbs above 2^130 folded back times 5 (2^130 = 5 mod p). Carrying half way keeps each
        // partial sum below 2^32.
        let c = 0;
        for (let i = 0; i < 10; i++) {
            let acc = c;
            for (let j = 0; j < 10; j++) {
                acc += h[j] * (j <= i ? r[i - j] : 5 * r[i + 10 - j]);
                if (j === 4) {
                    c = acc >>> 13;
                    acc &= 0x1fff;
                }
            }
            c += acc >>> 13;
            d[i] = acc & 0x1fff;
        }
        c = c * 5 + d[0];
        d[0] = c & 0x1fff;
        d[1] += c >>> 13;
        h.set(d);
    }

    // Full carry, then h mod p: compute g = h + 5 - 2^130 and keep it when h >= p (the carry out of bit 130).
    let c = h[1] >>> 13;
    h[1] &= 0x1fff;
    for (let i = 2; i < 10; i++) {
        h[i] += c;
        c = h[i] >>> 13;
        h[i] &= 0x1fff;
    }
    h[0] += c * 5;
    c = h[0] >>> 13;
    h[0] &= 0x1fff;
    h[1] += c;
    c = h[1] >>> 13;
    h[1] &= 0x1fff;
    h[2] += c;

    const g = new Uint32Array(10);
    g[0] = h[0] + 5;
    c = g[0] >>> 13;
    g[0] &= 0x1fff;
    for (let i = 1; i < 10; i++) {
        g[i] = h[i] + c;
        c = g[i] >>> 13;
        g[i] &= 0x1fff;
    }
    const useG = -c >>> 0; // all ones when h >= p, without a branch
    for (let i = 0; i < 10; i++) h[i] = (h[i] & ~useG) | (g[i] & useG);

    // The low 128 bits as eight 16-bit words, plus s (section 2.5.1: "the 128 least significant bits").
    const w = [
        (h[0] | (h[1] << 13)) & 0xffff,
        ((h[1] >>> 3) | (h[2] << 10)) & 0xffff,
        ((h[2] >>> 6) | (h[3] << 7)) & 0xffff,
        ((h[3] >>> 9) | (h[4] << 4)) & 0xffff,
        ((h[4] >>> 12) | (h[5] << 1) | (h[6] << 14)) & 0xffff,
        ((h[6] >>> 2) | (h[7] << 11)) & 0xffff,
        ((h[7] >>> 5) | (h[8] << 8)) & 0xffff,
        ((h[8] >>> 8) | (h[9] << 5)) & 0xffff,
    ];
    const tag = new Uint8Array(TAG_LENGTH);
    let carry = 0;
    for (let i = 0; i < 8; i++) {
        const sum = w[i] + s[i] + carry;
        tag[2 * i] = sum;
        tag[2 * i + 1] = sum >>> 8;
        carry = sum >>> 16;
    }
    h.fill(0);
    d.fill(0);
    g.fill(0);
    r.fill(0);
    return tag;
}

/** Byte-wise comparison whose time depends only on the lengths, which are public here. */
export function constantTimeEqual(a, b) {
    requireBytes(a, undefined, "a");
    requireBytes(b, undefined, "b");
    if (a.length !== b.length) return false;
    let difference = 0;
    for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
    return difference === 0;
}

// Section 2.8: Poly1305 over aad || pad16 || ciphertext || pad16 || le64(len(aad)) || le64(len(ciphertext)),
// keyed with the first 32 bytes of block 0 (section 2.6).
function aeadTag(key, nonce, ciphertext, aad) {
    const oneTimeKey = chacha20Block(key, 0, nonce).subarray(0, 32);
    const padded = (n) => Math.ceil(n / 16) * 16;
    const macData = new Uint8Array(padded(aad.length) + padded(ciphertext.length) + 16);
    macData.set(aad, 0);
    macData.set(ciphertext, padded(aad.length));
    const lengths = new DataView(macData.buffer, macData.length - 16);
    lengths.setUint32(0, aad.length, true); // both lengths are far below 2^32: the high words stay zero
    lengths.setUint32(8, ciphertext.length, true);
    const tag = poly1305(oneTimeKey, macData);
    oneTimeKey.fill(0);
    return tag;
}

/**
 * AEAD_CHACHA20_POLY1305 encryption, RFC 8439 section 2.8.
 * @param {Uint8Array} key 32 bytes
 * @param {Uint8Array} nonce 12 bytes, never used twice with one key
 * @param {Uint8Array} plaintext
 * @param {Uint8Array} [aad] associated data, authenticated but not encrypted
 * @returns {Uint8Array} ciphertext || 16-byte tag
 */
export function seal(key, nonce, plaintext, aad = new Uint8Array(0)) {
    requireBytes(plaintext, undefined, "plaintext");
    requireBytes(aad, undefined, "aad");
    const ciphertext = chacha20(key, nonce, 1, plaintext);
    const out = new Uint8Array(ciphertext.length + TAG_LENGTH);
    out.set(ciphertext);
    out.set(aeadTag(key, nonce, ciphertext, aad), ciphertext.length);
    return out;
}

/**
 * AEAD_CHACHA20_POLY1305 decryption, RFC 8439 section 2.8: checks the tag (in constant time) before
 * decrypting anything.
 * @param {Uint8Array} key 32 bytes
 * @param {Uint8Array} nonce 12 bytes
 * @param {Uint8Array} sealed ciphertext || 16-byte tag
 * @param {Uint8Array} [aad] associated data
 * @returns {Uint8Array} the plaintext
 * @throws {AuthenticationError} when the tag does not verify
 */
export function open(key, nonce, sealed, aad = new Uint8Array(0)) {
    requireBytes(sealed, undefined, "sealed");
    requireBytes(aad, undefined, "aad");
    if (sealed.length < TAG_LENGTH) throw new AuthenticationError();
    const ciphertext = sealed.subarray(0, sealed.length - TAG_LENGTH);
    const expected = aeadTag(key, nonce, ciphertext, aad);
    if (!constantTimeEqual(expected, sealed.subarray(sealed.length - TAG_LENGTH))) throw new AuthenticationError();
    return chacha20(key, nonce, 1, ciphertext);
}
