// @ts-check
// The page's replica of the key log and its checks, a port of the Swift client's KeyLogChecks.swift: a
// KeyDirectory for the directory rules with a Merkle frontier (MemberState.replica), the rules of the member's
// own entries, and the key-log half of Membership (as KeyLogChecks.swift's `extension Membership`), every check
// of Specs/transparency.md with the CLI's `log-*` codes.

import { base64urlDecode, checkName, publicKeyOf, ReciprocityError, sha256 } from "./reciprocity.js";
import {
    checkConsistent, checkHeadTime, checkTreeHead, KeyDirectory, parseTreeHead, treeHeadFromJSON, treeHeadText,
    verifyTreeHead,
} from "./transparency.js";
import { ClientError } from "./server-api.js";
import { b64, b64ToHex, hexToB64, idbGet } from "./member-state.js";

async function nodeHash(left, right) {
    const both = new Uint8Array(65);
    both[0] = 1;
    both.set(left, 1);
    both.set(right, 33);
    return sha256(both);
}

/** `{program, live: {handle: key}, frontier: {size, hashes}}` as the CLI stores it; keys and hashes base64url. */
export class Replica {
    /**
     * @param {{program: string, live?: Record<string, string>, frontier?: {size: number, hashes: string[]}}} json
     */
    constructor(json) {
        this.directory = new KeyDirectory(json.program);
        this.owners = this.directory.owners;
        for (const [handle, key] of Object.entries(json.live ?? {})) {
            const hex = b64ToHex(key);
            if (this.owners.has(hex)) throw new ClientError("corrupt-state", "the saved key log replica has one key live for two handles");
            this.directory.live.set(handle, hex);
            this.owners.set(hex, handle);
        }
        const frontier = json.frontier ?? { size: 0, hashes: [] };
        this.size = frontier.size;
        this.hashes = frontier.hashes.map((hash) => base64urlDecode(hash, 32));
        let bits = 0;
        for (let n = this.size; n > 0; n = Math.floor(n / 2)) bits += n & 1;
        if (!Number.isSafeInteger(this.size) || this.size < 0 || bits !== this.hashes.length) {
            throw new ClientError("corrupt-state", "the saved key log replica's frontier is malformed");
        }
    }

    /**
     * The live key of `handle`, base64url, or undefined.
     * @param {string} handle
     * @returns {string | undefined}
     */
    live(handle) {
        const hex = this.directory.live.get(handle);
        return hex === undefined ? undefined : hexToB64(hex);
    }

    /**
     * Applies one entry under the directory rules, or throws without changing anything.
     * @param {import("./transparency.js").KeyLogEntry} entry
     * @returns {Promise<void>}
     */
    async apply(entry) {
        await this.directory.apply(entry); // the directory rules; throws without changing anything
        let hash = this.directory.leafHashes.pop();
        this.directory.leaves.length = 0;
        let n = this.size;
        while (n & 1) {
            hash = await nodeHash(this.hashes.pop(), hash);
            n = Math.floor(n / 2);
        }
        this.hashes.push(hash);
        this.size += 1;
    }

    /**
     * @returns {Promise<Uint8Array>}
     */
    async root() {
        if (this.hashes.length === 0) return sha256(new Uint8Array(0));
        let root = this.hashes[this.hashes.length - 1];
        for (let i = this.hashes.length - 2; i >= 0; i--) root = await nodeHash(this.hashes[i], root);
        return root;
    }

    toJSON() {
        const live = {};
        for (const [handle, hex] of [...this.directory.live].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) live[handle] = hexToB64(hex);
        return { program: this.directory.program, live, frontier: { size: this.size, hashes: this.hashes.map(b64) } };
    }
}
/** Rules of the own handle's key-log entries (Membership.checkOwnEntry). */
function checkOwnEntry(index, entry, handle, history, own) {
    if (entry.handle !== handle) return;
    const key = b64(entry.publicKey);
    const position = history.indexOf(key);
    let fits;
    if (entry.event === "join") fits = own.last === undefined ? position === 0 : key === own.last;
    else if (entry.event === "rotate") fits = position >= 0 && own.last !== undefined && history.indexOf(own.last) >= 0 && history.indexOf(own.last) + 1 === position;
    else fits = key === own.last;
    if (!fits) {
        throw new ClientError("log-foreign-key",
            `entry ${index} of the key log (${entry.event}) is a change to your handle ${handle} that this device did not make; ` +
            "it also dropped your pending marks. Someone with your credential may be replacing your key: rotate your key " +
            "on the Keys screen now, and tell the program's operator.");
    }
    own.last = key;
}

/**
 * The key-log methods of Membership (membership.js extends this class). They use the membership's `state`,
 * `publicKey`, `api`, `serial`, `rollingBack` and `save`: each method says so with `@this`, for the type check.
 */
export class MembershipKeyLog {
    /**
     * The server's current head, checked against the pinned key and the latest verified head.
     * @returns {Promise<import("./transparency.js").TreeHead>}
     * @this {import("./membership.js").Membership}
     */
    async servedTreeHead() {
        const served = await this.api.logHead();
        if (this.state.logKey && this.state.logKey !== served.logPublicKey) {
            throw new ClientError("log-key-changed", `the server now signs its log with ${served.logPublicKey}, not the key pinned at join (${this.state.logKey})`);
        }
        if (!this.state.logKey) this.state.logKey = served.logPublicKey;
        let logKey, head, previous = null;
        try {
            logKey = base64urlDecode(this.state.logKey, 32);
        } catch {
            throw new ClientError("log-invalid-key", "the pinned log key is malformed");
        }
        try {
            head = treeHeadFromJSON(served.treeHead);
        } catch {
            throw new ClientError("log-invalid-head", "the server sent a malformed tree head");
        }
        if (this.state.treeHead) previous = parseTreeHead(this.state.treeHead);
        let latest;
        try {
            latest = await checkTreeHead(head, {
                program: this.state.program, logPublicKey: logKey, previous,
                consistencyProof: (from, to) => this.api.consistencyProof(from, to),
            });
        } catch (error) {
            if (error instanceof ReciprocityError) throw new ClientError(error.code, error.message.replace(/^[\w-]+: /, ""));
            throw error;
        }
        this.state.treeHead = treeHeadText(latest);
        return head;
    }

    /**
     * @param {string | null | undefined} nextPublicKey
     * @returns {string[]} this member's keys, oldest first (base64url)
     * @this {import("./membership.js").Membership}
     */
    ownKeyHistory(nextPublicKey) {
        return [...(this.state.retiredKeys ?? []), this.publicKey, ...(nextPublicKey ? [nextPublicKey] : [])];
    }

    /**
     * Brings the replica up to the server's current head with every check of Specs/transparency.md (signature,
     * freshness, no rollback, consistency, the directory rules, the entries hash to the signed root) and checks
     * every entry for this member's own handle. The requests depend only on the log.
     * @returns {Promise<Replica>}
     * @this {import("./membership.js").Membership}
     */
    async syncedDirectory() {
        const head = await this.servedTreeHead();
        const replica = new Replica(this.state.replica ?? { program: this.state.program });
        const target = Number(head.treeSize);
        if (replica.size > target) {
            throw new ClientError("log-rollback", `the server's log has ${target} entries but this device already replayed ${replica.size}: ${treeHeadText(head)}`);
        }
        const [next] = await idbGet(["nextKey"]);
        const history = this.ownKeyHistory(next ? b64(await publicKeyOf(next)) : null);
        const own = { last: this.state.ownLogKey };
        while (replica.size < target) {
            const page = await this.api.logEntries(replica.size, Math.min(1000, target - replica.size));
            if (!page.length) throw new ClientError("log-missing-entries", `the server stops serving entries at ${replica.size} but its head has ${target}`);
            for (const info of page) {
                if (replica.size >= target) break;
                if (info.index !== replica.size) throw new ClientError("log-missing-entries", `the server sent entry ${info.index} where ${replica.size} belongs`);
                let entry;
                try {
                    if (!["join", "rotate", "leave"].includes(info.event)) throw new Error("event");
                    entry = { event: info.event, handle: checkName(info.handle, "invalidHandle"), publicKey: base64urlDecode(info.publicKey, 32) };
                } catch {
                    throw new ClientError("log-invalid-entry", `entry ${info.index} of the log is malformed`);
                }
                checkOwnEntry(info.index, entry, this.state.handle, history, own);
                try {
                    await replica.apply(entry);
                } catch (error) {
                    if (error instanceof ReciprocityError) throw new ClientError("log-invalid-entry", `entry ${info.index}: ${error.message}`);
                    throw error;
                }
            }
        }
        const root = await replica.root();
        if (b64(root) !== b64(head.rootHash)) {
            throw new ClientError("log-fork", `the server's log is not the one it signed: its ${target} entries do not hash to its signed root (a forked or rewritten log): ${treeHeadText(head)}`);
        }
        this.state.replica = replica.toJSON();
        this.state.ownLogKey = own.last;
        return replica;
    }

    /**
     * The latest verified tree head as one line, after bringing the replica up to the server's current head
     * (`reciprocity key head`): the line to compare with other members (gossip).
     * @returns {Promise<string>}
     * @this {import("./membership.js").Membership}
     */
    currentTreeHead() {
        return this.serial(() => this.rollingBack(async () => {
            await this.syncedDirectory();
            await this.save();
            return this.state.treeHead;
        }));
    }

    /**
     * Checks a head someone else saw (one `reciprocity-sth/v1 ...` line, e.g. from `reciprocity key head`) as
     * `reciprocity key monitor --gossip` does (KeyLogChecks.checkGossip): strict grammar (`log-invalid-head`),
     * for this program and signed by the pinned log key (`log-signature`), not dated in the future
     * (`log-future-head`; its age is not checked), no larger than the head the server serves this page now
     * (`log-fork`: the server showed someone a log it does not show here) and consistent with it (equal roots at
     * equal sizes, else a consistency proof from the server; `log-fork`). Resolves to the served head's line.
     * @param {string} line
     * @returns {Promise<string>}
     * @this {import("./membership.js").Membership}
     */
    checkGossipedHead(line) {
        return this.serial(() => this.rollingBack(async () => {
            await this.syncedDirectory();
            await this.save();
            const served = parseTreeHead(this.state.treeHead);
            let other;
            try {
                other = parseTreeHead(line);
            } catch {
                throw new ClientError("log-invalid-head", `not a tree head line: ${String(line).slice(0, 80)}`);
            }
            const program = this.state.program;
            if (other.program !== program || !(await verifyTreeHead(other, base64urlDecode(this.state.logKey, 32)))) {
                throw new ClientError("log-signature", `a gossiped head is not signed by the log key for ${program}: ${line}`);
            }
            try {
                checkHeadTime(other, Date.now(), { maxAgeMs: Infinity });
            } catch (error) {
                if (!(error instanceof ReciprocityError)) throw error;
                throw new ClientError("log-future-head", `${error.message.replace(/^\w+: /, "")} (is this computer's clock right?): ${line}`);
            }
            if (other.treeSize > served.treeSize) {
                throw new ClientError("log-fork",
                    `someone saw a log of ${other.treeSize} entries but the server shows this page ${served.treeSize} (a fork or a rollback); ` +
                    `evidence: seen [${line}] served [${this.state.treeHead}]`);
            }
            try {
                await checkConsistent(other, served, (from, to) => this.api.consistencyProof(from, to));
            } catch (error) {
                if (error instanceof ReciprocityError) throw new ClientError(error.code, error.message.replace(/^[\w-]+: /, ""));
                throw error;
            }
            return this.state.treeHead;
        }));
    }
}
