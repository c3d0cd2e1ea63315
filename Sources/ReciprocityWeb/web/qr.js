// @ts-check
// A QR code encoder (ISO/IEC 18004:2015), small and self-contained, for the console's join links: byte mode
// (the text as UTF-8), error correction level M, the smallest version (1 to 40) that holds the text, the data
// mask of lowest penalty among all eight (section 7.8.3, rules N1 to N4, evaluated before the format and version
// information are placed: their modules count as light, as in the reference encoder the tests compare with,
// segno), drawn as an SVG with the 4-module quiet zone. Tests/web/vectors/qr_test.json holds segno's matrices.

/** Error correction codewords per block at level M, by version (index 0 unused). Table 9. */
const EC_PER_BLOCK = [0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];
/** Error correction blocks at level M, by version (index 0 unused). Table 9. */
const BLOCKS = [0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26,
    28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];
/** Level M's two format bits (Table 12). */
const LEVEL_M = 0b00;

/**
 * @typedef {object} QRCode
 * @property {number} version 1 to 40
 * @property {number} mask the data mask pattern, 0 to 7
 * @property {number} size modules per side, without the quiet zone
 * @property {Uint8Array[]} modules rows top to bottom; 1 is dark
 */

/**
 * The QR code of `text` (UTF-8, byte mode, level M).
 * @param {string} text
 * @returns {QRCode}
 * @throws {RangeError} when the text is longer than a version 40 symbol holds (2331 bytes)
 */
export function encodeQR(text) {
    const bytes = new TextEncoder().encode(text);
    let version = 1;
    while (version <= 40 && 4 + countBits(version) + 8 * bytes.length > 8 * dataCodewords(version)) version++;
    if (version > 40) throw new RangeError(`the text is ${bytes.length} bytes, more than a QR code holds (2331)`);
    const codewords = finalMessage(version, dataBits(version, bytes));
    const size = 17 + 4 * version;
    const { modules, isFunction } = functionPatterns(version, size);
    placeCodewords(modules, isFunction, codewords);
    let best = { mask: 0, penalty: Infinity, modules };
    for (let mask = 0; mask < 8; mask++) {
        const masked = applyMask(modules, isFunction, mask);
        const score = penalty(masked);
        if (score < best.penalty) best = { mask, penalty: score, modules: masked };
    }
    drawFormatBits(best.modules, size, best.mask);
    if (version >= 7) drawVersionBits(best.modules, size, version);
    return { version, mask: best.mask, size, modules: best.modules };
}

/**
 * The code as an SVG image: one path of dark modules on a light square with the 4-module quiet zone.
 * @param {QRCode} code
 * @param {string} label the image's accessible name
 * @returns {SVGSVGElement}
 */
export function qrSVG(code, label) {
    const NS = "http://www.w3.org/2000/svg";
    const side = code.size + 8;
    const svg = /** @type {SVGSVGElement} */ (document.createElementNS(NS, "svg"));
    svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    svg.setAttribute("shape-rendering", "crispEdges");
    const background = document.createElementNS(NS, "rect");
    for (const [name, value] of [["width", String(side)], ["height", String(side)], ["fill", "#fff"]]) background.setAttribute(name, value);
    let d = "";
    code.modules.forEach((row, y) => {
        for (let x = 0; x < code.size; x++) {
            if (!row[x]) continue;
            let run = 1;
            while (x + run < code.size && row[x + run]) run++;
            d += `M${x + 4} ${y + 4}h${run}v1h-${run}z`;
            x += run - 1;
        }
    });
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "#000");
    svg.append(background, path);
    return svg;
}

// --- data ------------------------------------------------------------------------------------------------

/** Bits of the character count in byte mode (Table 3). */
const countBits = (version) => (version <= 9 ? 8 : 16);

/** Modules of the data and error correction codewords (and remainder bits) of a version. */
function rawDataModules(version) {
    let modules = (16 * version + 128) * version + 64;
    if (version >= 2) {
        const align = Math.floor(version / 7) + 2;
        modules -= (25 * align - 10) * align - 55;
        if (version >= 7) modules -= 36;
    }
    return modules;
}

const totalCodewords = (version) => Math.floor(rawDataModules(version) / 8);
const dataCodewords = (version) => totalCodewords(version) - EC_PER_BLOCK[version] * BLOCKS[version];

/**
 * The data codewords (section 7.4): mode, count, bytes, terminator, padding to a byte, pad codewords.
 * @param {number} version
 * @param {Uint8Array} bytes
 * @returns {number[]}
 */
function dataBits(version, bytes) {
    /** @type {number[]} */
    const bits = [];
    const put = (value, length) => { for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1); };
    put(0b0100, 4);
    put(bytes.length, countBits(version));
    for (const byte of bytes) put(byte, 8);
    const capacity = 8 * dataCodewords(version);
    put(0, Math.min(4, capacity - bits.length));
    put(0, (8 - (bits.length % 8)) % 8);
    const codewords = [];
    for (let i = 0; i < bits.length; i += 8) codewords.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
    for (let pad = 0xec; codewords.length < capacity / 8; pad ^= 0xec ^ 0x11) codewords.push(pad);
    return codewords;
}

/**
 * The data split into blocks, each with its error correction, interleaved (section 7.6).
 * @param {number} version
 * @param {number[]} data
 * @returns {number[]}
 */
function finalMessage(version, data) {
    const blocks = BLOCKS[version], ec = EC_PER_BLOCK[version];
    const shortBlocks = blocks - (totalCodewords(version) % blocks);
    const shortLength = Math.floor(totalCodewords(version) / blocks) - ec;
    const divisor = rsDivisor(ec);
    /** @type {number[][]} */
    const dataBlocks = [];
    const ecBlocks = [];
    for (let i = 0, at = 0; i < blocks; i++) {
        const length = shortLength + (i < shortBlocks ? 0 : 1);
        const block = data.slice(at, at + length);
        at += length;
        dataBlocks.push(block);
        ecBlocks.push(rsRemainder(block, divisor));
    }
    const result = [];
    for (let i = 0; i <= shortLength; i++) for (const block of dataBlocks) if (i < block.length) result.push(block[i]);
    for (let i = 0; i < ec; i++) for (const block of ecBlocks) result.push(block[i]);
    return result;
}

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1. */
function gfMultiply(x, y) {
    let z = 0;
    for (let i = 7; i >= 0; i--) {
        z = (z << 1) ^ ((z >>> 7) * 0x11d);
        z ^= ((y >>> i) & 1) * x;
    }
    return z;
}

/** The generator polynomial of `degree` (roots 2^0 to 2^(degree-1)), highest coefficient left out. */
function rsDivisor(degree) {
    const result = new Array(degree).fill(0);
    result[degree - 1] = 1;
    let root = 1;
    for (let i = 0; i < degree; i++) {
        for (let j = 0; j < degree; j++) {
            result[j] = gfMultiply(result[j], root);
            if (j + 1 < degree) result[j] ^= result[j + 1];
        }
        root = gfMultiply(root, 2);
    }
    return result;
}

/** The error correction codewords of `data`: its remainder modulo the generator. */
function rsRemainder(data, divisor) {
    const result = divisor.map(() => 0);
    for (const byte of data) {
        const factor = byte ^ /** @type {number} */ (result.shift());
        result.push(0);
        divisor.forEach((coefficient, i) => { result[i] ^= gfMultiply(coefficient, factor); });
    }
    return result;
}

// --- the matrix ------------------------------------------------------------------------------------------

/** Centres of the alignment patterns on either axis (Annex E). */
function alignmentPositions(version, size) {
    if (version === 1) return [];
    const count = Math.floor(version / 7) + 2;
    const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
    const result = [6];
    for (let position = size - 7; result.length < count; position -= step) result.splice(1, 0, position);
    return result;
}

/**
 * Finder patterns with separators, timing patterns, alignment patterns; the format and version areas and
 * the dark module reserved (light until the end).
 * @param {number} version
 * @param {number} size
 */
function functionPatterns(version, size) {
    const modules = Array.from({ length: size }, () => new Uint8Array(size));
    const isFunction = Array.from({ length: size }, () => new Uint8Array(size));
    const set = (x, y, dark) => { modules[y][x] = dark ? 1 : 0; isFunction[y][x] = 1; };
    for (let i = 0; i < size; i++) {
        set(6, i, i % 2 === 0);
        set(i, 6, i % 2 === 0);
    }
    for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
        for (let dy = -4; dy <= 4; dy++) {
            for (let dx = -4; dx <= 4; dx++) {
                const x = cx + dx, y = cy + dy;
                if (x < 0 || x >= size || y < 0 || y >= size) continue;
                const distance = Math.max(Math.abs(dx), Math.abs(dy));
                set(x, y, distance !== 2 && distance !== 4);
            }
        }
    }
    const positions = alignmentPositions(version, size);
    const last = positions.length - 1;
    positions.forEach((cx, i) => positions.forEach((cy, j) => {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
        for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
    }));
    for (let i = 0; i < 9; i++) {
        if (i === 6) continue; // the timing patterns
        set(8, i, false);
        set(i, 8, false);
    }
    for (let i = 0; i < 8; i++) {
        set(size - 1 - i, 8, false);
        set(8, size - 1 - i, false);
    }
    if (version >= 7) {
        for (let i = 0; i < 18; i++) {
            set(size - 11 + (i % 3), Math.floor(i / 3), false);
            set(Math.floor(i / 3), size - 11 + (i % 3), false);
        }
    }
    return { modules, isFunction };
}

/**
 * The codewords' bits in the two-module columns, right to left, alternately upwards and downwards, skipping the
 * function modules (section 7.7.3); remainder bits stay light.
 * @param {Uint8Array[]} modules
 * @param {Uint8Array[]} isFunction
 * @param {number[]} codewords
 */
function placeCodewords(modules, isFunction, codewords) {
    const size = modules.length;
    let i = 0;
    for (let right = size - 1; right >= 1; right -= 2) {
        if (right === 6) right = 5;
        const upward = ((right + 1) & 2) === 0;
        for (let vertical = 0; vertical < size; vertical++) {
            const y = upward ? size - 1 - vertical : vertical;
            for (let j = 0; j < 2; j++) {
                const x = right - j;
                if (isFunction[y][x] || i >= codewords.length * 8) continue;
                modules[y][x] = (codewords[i >>> 3] >>> (7 - (i & 7))) & 1;
                i++;
            }
        }
    }
}

/** The eight data mask conditions (Table 10): x is the column, y the row. */
const MASKS = [
    (x, y) => (x + y) % 2 === 0,
    (_, y) => y % 2 === 0,
    (x) => x % 3 === 0,
    (x, y) => (x + y) % 3 === 0,
    (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
    (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
    (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
    (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function applyMask(modules, isFunction, mask) {
    return modules.map((row, y) => row.map((dark, x) => (!isFunction[y][x] && MASKS[mask](x, y) ? dark ^ 1 : dark)));
}

/**
 * The penalty of a masked matrix (section 7.8.3.1): N1 = 3 (+1 per module past five) for each run of five or
 * more same-coloured modules in a row or column; N2 = 3 for each 2x2 block of one colour; N3 = 40 for each
 * 1:1:3:1:1 finder-like pattern with four light modules (or the symbol's edge) before or after it; N4 = 10 for
 * each whole 5% the dark share is away from 50%.
 * @param {Uint8Array[]} modules
 * @returns {number}
 */
export function penalty(modules) {
    const size = modules.length;
    let score = 0, dark = 0;
    for (let i = 0; i < size; i++) {
        const row = modules[i];
        const column = modules.map((r) => r[i]);
        score += runPenalty(row) + runPenalty(column) + finderPenalty(row) + finderPenalty(column);
        for (let j = 0; j < size; j++) {
            dark += row[j];
            if (i > 0 && j > 0 && row[j] === row[j - 1] && row[j] === modules[i - 1][j] && row[j] === modules[i - 1][j - 1]) score += 3;
        }
    }
    score += 10 * Math.trunc(Math.abs((dark / (size * size)) * 100 - 50) / 5);
    return score;
}

/** N1 of one line. */
function runPenalty(line) {
    let score = 0, run = 1;
    for (let j = 1; j <= line.length; j++) {
        if (j < line.length && line[j] === line[j - 1]) {
            run++;
            continue;
        }
        if (run >= 5) score += run - 2;
        run = 1;
    }
    return score;
}

const FINDER_LIKE = [1, 0, 1, 1, 1, 0, 1];

/** N3 of one line: each finder-like pattern found left to right, with light on one side, counted once. */
function finderPenalty(line) {
    const size = line.length;
    const lightBetween = (from, to) => line.slice(Math.max(from, 0), Math.min(to, size)).every((m) => m === 0);
    const find = (from) => {
        for (let i = from; i + 7 <= size; i++) if (FINDER_LIKE.every((m, k) => line[i + k] === m)) return i;
        return -1;
    };
    let score = 0;
    for (let at = find(0); at !== -1;) {
        let next = at + 7;
        if (lightBetween(at - 4, at) || lightBetween(at + 7, at + 11)) score += 40;
        else next = at + 4;
        at = find(next);
    }
    return score;
}

// --- format and version information ----------------------------------------------------------------------

/** Level M and the mask with their BCH(15,5) code, XOR 0x5412, in both copies; and the dark module. */
function drawFormatBits(modules, size, mask) {
    const data = (LEVEL_M << 3) | mask;
    let remainder = data;
    for (let i = 0; i < 10; i++) remainder = (remainder << 1) ^ ((remainder >>> 9) * 0x537);
    const bits = ((data << 10) | remainder) ^ 0x5412;
    const bit = (i) => (bits >>> i) & 1;
    const set = (x, y, value) => { modules[y][x] = value; };
    for (let i = 0; i <= 5; i++) set(8, i, bit(i));
    set(8, 7, bit(6));
    set(8, 8, bit(7));
    set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
    set(8, size - 8, 1);
}

/** The version with its BCH(18,6) code, in both copies (versions 7 and up). */
function drawVersionBits(modules, size, version) {
    let remainder = version;
    for (let i = 0; i < 12; i++) remainder = (remainder << 1) ^ ((remainder >>> 11) * 0x1f25);
    const bits = (version << 12) | remainder;
    for (let i = 0; i < 18; i++) {
        const value = (bits >>> i) & 1;
        const a = size - 11 + (i % 3), b = Math.floor(i / 3);
        modules[b][a] = value;
        modules[a][b] = value;
    }
}
