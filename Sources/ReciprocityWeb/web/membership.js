// @ts-check
// One membership in the browser: a port of the Swift client's `Membership` (Sources/ReciprocityClient), under
// the same rules (Specs/client.md is normative). Keys come only from this page's verified replica of the key
// log, every change of marks is GET /v1/me, the log sync, GET /v1/marks and ONE shuffled POST /v1/marks with
// `withdraw`, padded with dummies to P, and a match is shown only when its confirmation tag verifies here.
//
// The rest of the port is in the files named after the Swift client's: member-state.js (what IndexedDB keeps,
// MemberState.swift), key-log-checks.js (the replica of the key log, KeyLogChecks.swift) and server-api.js
// (ServerAPI.swift). Each imports only from the ones before it; this file imports them all.

import {
    base64urlDecode, checkName, deriveMark, fingerprint, NOTE_MAX_BYTES, openNote, publicKeyOf, sealNote,
    verifyMatchTag,
} from "./reciprocity.js";
import { ClientError, ServerAPI } from "./server-api.js";
import {
    b64, clone, compact, forgetDevice, idbGet, idbPut, isDummy, isoNow, isPending, isWanted, keepKey, newDeviceKey, newKey,
    stateText, unsealKey,
} from "./member-state.js";
import { MembershipKeyLog, Replica } from "./key-log-checks.js";

export { ClientError, forgetDevice, NOTE_MAX_BYTES };

// A failure after the replacement request went out: the state it recorded is kept (client.md section 6).
class AfterSending extends Error {
    constructor(error) {
        super(error.message);
        this.error = error;
    }
}

function randomIndex(n) {
    // Rejection sampling on 32-bit values: uniform.
    const limit = Math.floor(0x100000000 / n) * n;
    const word = new Uint32Array(1);
    do crypto.getRandomValues(word); while (word[0] >= limit);
    return word[0] % n;
}

/** A uniformly random permutation (Fisher-Yates with crypto randomness). */
export function shuffled(items) {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
        const j = randomIndex(i + 1);
        [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
}

const COUNTERPART = { mentor: "mentee", mentee: "mentor", peer: "peer" };

const WANTS = ["mentor", "mentee", "peer"];
/** The marks a trust replaces, whatever it finds: its most, one per kind of interest (client.md section 3). */
const TRUST_CHANGE = WANTS.length;
const HANDLE_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A random handle-shaped name (the other party of a throwaway derivation): 16 of a-z and 0-9. */
function throwawayHandle() {
    let name = "";
    for (let i = 0; i < 16; i++) name += HANDLE_CHARS[randomIndex(HANDLE_CHARS.length)];
    return name;
}

// The other party of every throwaway derivation: one X25519 public key per page, whose private half nobody
// keeps, made when the module loads. The random name makes each derivation different; one key keeps a dummy's
// cost that of a real mark (a key pair generated per dummy made dummies dearer, so the time of a command
// counted them), as the CLI's one throwaway key per process does.
// Started when the module loads, but only where WebCrypto exists: over plain http the module still loads, so the
// page can say what is wrong.
let throwawayKey = null;
function throwawayPublicKey() {
    throwawayKey ??= crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])
        .then((pair) => crypto.subtle.exportKey("raw", /** @type {CryptoKeyPair} */ (pair).publicKey)) // X25519: a pair
        .then((raw) => new Uint8Array(raw));
    return throwawayKey;
}
if (crypto.subtle) throwawayPublicKey().catch(() => {}); // a failure is reported by the derivation that awaits it

function quotaExceeded(program, situation) {
    return new ClientError("quota-exceeded",
        `program ${program.name} allows ${program.maxMarks} interests per epoch, pending or matched; ${situation}. ` +
        "Withdraw one first on the My interests screen.");
}

/** One membership; the key-log methods are its base class's (key-log-checks.js). */
export class Membership extends MembershipKeyLog {
    constructor(state, privateKey, deviceKey) {
        super();
        this.state = state;
        this.key = privateKey;
        this.deviceKey = deviceKey;
        this.lastAnswer = {};
        this.queue = Promise.resolve();
        this.publicKey = null;
        this.lastMe = null; // the last GET /v1/me answer, from the last poll: what the Profile screen shows
    }

    get api() { return new ServerAPI(this.state.credential); }

    /**
     * Runs `body` after every earlier operation of this membership, one at a time across every tab of this
     * origin (a Web Lock), on the state as stored now: another tab's change is never undone by a stale copy.
     */
    serial(body) {
        const locked = () => navigator.locks.request("reciprocity-membership", async () => {
            await this.reload();
            return body();
        });
        const run = this.queue.then(locked, locked);
        this.queue = run.catch(() => {});
        return run;
    }

    /** The stored state and key, as another tab may have left them. */
    async reload() {
        const [state, key, deviceKey] = await idbGet(["state", "key", "deviceKey"]);
        if (!state || !key || !deviceKey) throw new ClientError("no-membership", "this browser no longer holds a membership (was it forgotten in another tab?); reload the page");
        this.state = JSON.parse(state);
        this.deviceKey = deviceKey;
        if (key !== this.key) {
            this.key = key;
            this.publicKey = b64(await publicKeyOf(key));
        }
    }

    /** The membership this browser holds, or null. */
    static async open() {
        const [state, privateKey, deviceKey] = await idbGet(["state", "key", "deviceKey"]);
        if (!state || !privateKey || !deviceKey) return null;
        const membership = new Membership(JSON.parse(state), privateKey, deviceKey);
        membership.publicKey = b64(await publicKeyOf(privateKey));
        return membership;
    }

    /** Generates the key pair here, joins, stores key and credential, then checks the log holds the key. */
    static async join({ program, invite, handle, profile }) {
        const valid = (name) => {
            try {
                return checkName(name, "invalidName") === name;
            } catch {
                return false;
            }
        };
        if (!valid(program)) throw new ClientError("invalid-program", "the program name is not valid");
        if (!valid(handle)) throw new ClientError("invalid-handle", "a handle is 3 to 64 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
        if (await Membership.open()) throw new ClientError("already-joined", "this browser already holds a membership; forget this device first");
        const deviceKey = await newDeviceKey();
        const { privateKey, sealed } = await newKey(deviceKey);
        const publicKey = b64(await publicKeyOf(privateKey));
        const response = await new ServerAPI().join(program, { invite, handle, publicKey, profile });
        const state = {
            server: location.origin, program, handle: response.member.handle, credential: response.credential,
            pinnedKeys: {}, marks: [], logKey: response.logPublicKey,
        };
        const membership = new Membership(state, privateKey, deviceKey);
        Object.assign(membership, { publicKey, lastMe: { member: response.member, program: response.program } });
        // The credential is saved first: a failed check below must not lose the membership.
        await idbPut({ state: membership.stateJSON(), key: privateKey, deviceKey, sealedKey: sealed });
        await membership.serial(async () => {
            const replica = await membership.syncedDirectory();
            if (replica.live(membership.state.handle) !== publicKey) {
                throw new ClientError("log-missing-key", `the server's key log does not hold your key as live under ${handle}`);
            }
            await membership.save();
        });
        return membership;
    }

    /** The state as the CLI's state.json holds it (MemberState), as JSON text. */
    stateJSON() { return stateText(this.state); }

    save() { return idbPut({ state: this.stateJSON() }); }

    // --- backup (the other helper's backup.js uses these) ------------------------------------------------

    /** The 32 raw bytes of the private key, decrypted from the device-key copy. Only for a backup the member asks for. */
    rawPrivateKeyForBackup() { return unsealKey(this.deviceKey); }

    /** What a backup holds, taken between two changes: `{privateKey (32 raw bytes), state (MemberState object)}`. */
    backupPayload() {
        return this.serial(async () => {
            const [nextKey] = await idbGet(["nextKey"]);
            if (nextKey) {
                throw new ClientError("rotation-unfinished",
                    "a key rotation is unfinished on this device: finish it first (Security screen, \u201cReplace my key\u201d completes the same rotation), then make the backup; a backup now would hold a key that is about to be replaced");
            }
            return { privateKey: await this.rawPrivateKeyForBackup(), state: JSON.parse(this.stateJSON()) };
        });
    }

    /**
     * Replaces whatever this browser holds by the key `raw` (32 bytes) and the MemberState `state` (object or JSON
     * text), as a backup import does. The state must be for this server's origin.
     */
    static async restore(raw, state) {
        const parsed = typeof state === "string" ? JSON.parse(state) : clone(state);
        for (const field of ["program", "handle", "credential"]) {
            if (typeof parsed[field] !== "string") throw new ClientError("corrupt-state", `the backup's state has no ${field}`);
        }
        if (!Array.isArray(parsed.marks) || typeof parsed.pinnedKeys !== "object") throw new ClientError("corrupt-state", "the backup's state is malformed");
        if (parsed.replica) new Replica(parsed.replica); // validates
        const deviceKey = await newDeviceKey();
        const { privateKey, sealed } = await keepKey(raw, deviceKey);
        const membership = new Membership(parsed, privateKey, deviceKey);
        membership.publicKey = b64(await publicKeyOf(privateKey));
        // Under the same cross-tab lock as every change: no other tab's operation sees a half-written store.
        await navigator.locks.request("reciprocity-membership", async () => {
            await forgetDevice();
            await idbPut({ state: membership.stateJSON(), key: privateKey, deviceKey, sealedKey: sealed });
        });
        return membership;
    }

    // --- keys --------------------------------------------------------------------------------------------

    /** The live key of `handle` in the replica, pinned on first use; a changed key is refused until trusted. */
    async party(handle, replica) {
        const live = replica.live(handle);
        if (live === undefined) {
            throw new ClientError("unknown-handle", `no member '${handle}' is live in program ${this.state.program}'s key log (checked here, up to entry ${replica.size})`);
        }
        const pinned = this.state.pinnedKeys[handle];
        if (pinned !== undefined && pinned !== live) {
            throw new ClientError("key-changed",
                `${handle}'s key changed in the key log (pinned ${await fingerprintOf(pinned)}, now ${await fingerprintOf(live)}); ` +
                `compare fingerprints with ${handle} another way, then trust the new key on the Security screen`);
        }
        this.state.pinnedKeys[handle] = live;
        return { handle, publicKey: base64urlDecode(live, 32) };
    }

    /**
     * Own fingerprint, or `handle`'s from the replica the last poll verified (pinning it on first use). It sends
     * nothing: a look-up of its own would date the moment the member looks someone up (client.md section 2).
     * The Keys screen opened with a poll, and the poll timer keeps the replica at most one period old.
     */
    fingerprint(handle) {
        if (!handle) return fingerprintOf(this.publicKey);
        return this.serial(() => this.rollingBack(async () => {
            const party = await this.party(handle, new Replica(this.state.replica ?? { program: this.state.program }));
            await this.save();
            return fingerprint(party.publicKey);
        }));
    }

    /** Handles whose live key in the replica differs from the one pinned here: each blocks marking them. */
    async changedKeys() {
        const live = this.state.replica?.live ?? {};
        const out = [];
        for (const [handle, pinned] of Object.entries(this.state.pinnedKeys)) {
            if (live[handle] !== undefined && live[handle] !== pinned) {
                out.push({ handle, pinned: await fingerprintOf(pinned), live: await fingerprintOf(live[handle]) });
            }
        }
        return out;
    }

    keyChanged(mark) {
        const live = this.state.replica?.live ?? {};
        return !isDummy(mark) && live[mark.handle] !== this.state.pinnedKeys[mark.handle];
    }

    /**
     * Re-pins `handle` to its live key (after an out-of-band check) and derives its pending marks again, in a
     * request that replaces `TRUST_CHANGE` marks whether there were 0, 1, 2 or 3 (dummies make up the number).
     */
    trust(handle) {
        return this.serial(() => this.changingMarks(TRUST_CHANGE, undefined, async (program, replica) => {
            const live = replica.live(handle);
            if (live === undefined) throw new ClientError("unknown-handle", `no member '${handle}' is live in program ${this.state.program}'s key log`);
            this.state.pinnedKeys[handle] = live;
            // One derivation per kind of interest (mentor, mentee, peer), real or throwaway: the time taken does
            // not show how many pending marks on `handle` there are.
            for (const wants of WANTS) {
                const indexes = [...this.state.marks.keys()].filter((i) => {
                    const old = this.state.marks[i];
                    return old.handle === handle && old.wants === wants && isPending(old);
                });
                if (!indexes.length) {
                    await this.throwawayDerivation(wants, program.epoch);
                    continue;
                }
                const derived = await this.rederive(handle, wants, program.epoch);
                for (const index of indexes) {
                    const old = this.state.marks[index];
                    this.state.marks[index] = this.localMark(derived, handle, wants, program.epoch, old.createdAt, old.note);
                }
            }
            return fingerprintOf(live);
        }));
    }

    /**
     * Replaces the key pair, then the credential: the new key is kept as `nextKey` until the server logs it,
     * pending interests are derived again with it and sent with fresh dummies in one batch. Run again after an
     * interruption: it finishes the same rotation.
     */
    rotateKey() {
        return this.serial(async () => {
            let [nextKey] = await idbGet(["nextKey"]);
            if (!nextKey) {
                const { privateKey, sealed } = await newKey(this.deviceKey);
                await idbPut({ nextKey: privateKey, nextSealedKey: sealed });
                nextKey = privateKey;
            }
            const nextPublic = b64(await publicKeyOf(nextKey));
            const me = await this.api.me();
            const program = this.checkedProgram(me.program);
            if (me.member.publicKey !== nextPublic) await this.api.rotateKey(nextPublic);
            const old = this.publicKey;
            if (old !== nextPublic && !(this.state.retiredKeys ?? []).includes(old)) this.state.retiredKeys = [...(this.state.retiredKeys ?? []), old];
            this.state.resubmitPending = true;
            const [nextSealed] = await idbGet(["nextSealedKey"]);
            // State, key and its copy change in one transaction: never a key whose predecessor is unknown.
            await idbPut({ state: this.stateJSON(), key: nextKey, sealedKey: nextSealed, nextKey: undefined, nextSealedKey: undefined });
            this.key = nextKey;
            this.publicKey = nextPublic;
            const replica = await this.syncedDirectory();
            if (replica.live(this.state.handle) !== nextPublic) throw new ClientError("log-missing-key", "the server's key log does not hold your new key as live");
            // A match made while the key changed is recorded first: it is no longer pending, so it is not derived
            // again (the re-derived token and the dummies would exceed the quota it counts against).
            await this.checkMatches();
            await this.moveToEpoch(program.epoch, replica);
            await this.pad(program);
            try {
                await this.converge(program);
            } catch (error) {
                throw error instanceof AfterSending ? error.error : error;
            }
            try {
                const response = await this.api.rotateCredential();
                this.state.credential = response.credential;
                await this.save();
            } catch (error) {
                throw new ClientError("credential-not-rotated",
                    `your key was replaced (new fingerprint ${await fingerprintOf(nextPublic)}) but not your credential: ${error.message}`);
            }
            return fingerprintOf(nextPublic);
        });
    }

    // --- profile and directory ---------------------------------------------------------------------------

    me() { return this.api.me(); }

    /** Saves the profile; the member as the server now has it also becomes `lastMe`'s. */
    async updateProfile(profile) {
        const member = await this.api.updateProfile(profile);
        if (this.lastMe) this.lastMe = { ...this.lastMe, member };
        return member;
    }


    // --- interests ---------------------------------------------------------------------------------------

    localMark(derived, handle, wants, epoch, createdAt, note) {
        return compact({
            handle, wants, epoch, token: b64(derived.token), ownTag: b64(derived.ownTag),
            counterpartTag: b64(derived.counterpartTag), createdAt, note,
        });
    }

    derive(party, wants, epoch) {
        return deriveMark({
            program: this.state.program, relation: wants === "peer" ? "peer" : "mentorship", epoch,
            selfHandle: this.state.handle, selfRole: COUNTERPART[wants], privateKey: this.key,
            otherHandle: party.handle, otherPublicKey: party.publicKey,
        });
    }

    /**
     * A derivation as costly as a real mark's, against a freshly generated throwaway key and a random
     * handle-shaped name: its token and tags are uniformly random to anyone (nobody holds the other key).
     */
    async throwawayDerivation(wants, epoch) {
        const name = throwawayHandle();
        return this.derive({ handle: name === this.state.handle ? `${name}0` : name, publicKey: await throwawayPublicKey() },
            wants ?? WANTS[randomIndex(WANTS.length)], epoch);
    }

    /** A dummy mark: made by the same derivation as a real one (a throwaway counterpart), so it costs the same. */
    async newDummy(epoch) {
        const derived = await this.throwawayDerivation(undefined, epoch);
        return { epoch, token: b64(derived.token), ownTag: b64(derived.ownTag), createdAt: isoNow() };
    }

    /**
     * The mark on `handle` derived again from its pinned key; null when none is pinned, or when the replica's
     * live key for `handle` is not the pinned one (a changed key: nothing is derived until it is trusted,
     * client.md section 2.3). `checkLive: false` only to open the note of a match already made with the pin.
     */
    async rederive(handle, wants, epoch, { checkLive = true } = {}) {
        const pinned = this.state.pinnedKeys[handle];
        if (pinned === undefined) return null;
        if (checkLive && (this.state.replica?.live ?? {})[handle] !== pinned) return null;
        return this.derive({ handle, publicKey: base64urlDecode(pinned, 32) }, wants, epoch);
    }

    /** Real interests on this device, oldest first. */
    get interests() { return this.state.marks.filter((mark) => !isDummy(mark)); }

    /**
     * Marks each of `handles` ("I would like them as my `wants`") in one request that replaces as many dummies.
     * Keys from the verified replica only. A handle already marked keeps its mark; a new note replaces the old.
     * @param {string[]} handles
     * @param {string} wants
     * @param {{padTo?: number, note?: string}} options (optional) padTo: marks kept per epoch, real and dummy
     */
    addInterest(handles, wants, { padTo, note } = {}) {
        if (!handles.length) return Promise.resolve([]);
        if (!Object.hasOwn(COUNTERPART, wants)) return Promise.reject(new ClientError("invalid-argument", "choose mentor, mentee or peer"));
        if (padTo !== undefined && !(Number.isInteger(padTo) && padTo >= 0)) return Promise.reject(new ClientError("invalid-argument", `the padding must be 0 or more, got ${padTo}`));
        if (handles.includes(this.state.handle)) return Promise.reject(new ClientError("self-mark", "you cannot mark yourself"));
        const bytes = new TextEncoder().encode(note ?? "").length;
        if (bytes > NOTE_MAX_BYTES) return Promise.reject(new ClientError("note-too-long", `a note is at most ${NOTE_MAX_BYTES} bytes of UTF-8, this one is ${bytes}`));
        if (note === "") note = undefined;
        return this.serial(async () => {
            const tokens = await this.changingMarks(handles.length, padTo, async (program, replica, renoted) => {
                const tokens = [];
                let fresh = 0;
                for (const handle of handles) {
                    const derived = await this.derive(await this.party(handle, replica), wants, program.epoch);
                    const token = b64(derived.token);
                    tokens.push(token);
                    this.state.marks = this.state.marks.filter((m) => !(m.handle === handle && m.wants === wants && m.waitingForTrust === true));
                    const existing = this.state.marks.find((m) => m.token === token);
                    if (existing) {
                        if (isPending(existing) && (existing.note ?? undefined) !== note) {
                            existing.note = note;
                            renoted.add(token);
                        }
                    } else if (!tokens.slice(0, -1).includes(token)) {
                        fresh += 1;
                        this.state.marks.push(this.localMark(derived, handle, wants, program.epoch, isoNow(), note));
                    }
                }
                const made = this.realMarks(program.epoch).length;
                if (made > program.maxMarks) throw quotaExceeded(program, `you have made ${made - fresh} interests this epoch, and this would add ${fresh}`);
                return tokens;
            });
            return handles.map((handle, i) => {
                const matched = this.state.marks.find((m) => m.token === tokens[i])?.matchedAt;
                return { handle, state: this.lastAnswer[tokens[i]] ?? (matched ? "matched" : "pending") };
            });
        });
    }

    /** Withdraws the pending mark on `handle`, replacing it by a dummy in the same request. */
    removeInterest(handle, wants) {
        return this.serial(() => {
            if (!this.state.marks.some((m) => m.handle === handle && m.wants === wants && isPending(m))) {
                throw new ClientError("no-such-interest", `you have no pending interest in ${handle} as ${wants}`);
            }
            return this.changingMarks(1, undefined, async () => {
                this.state.marks = this.state.marks.filter((m) => !(m.handle === handle && m.wants === wants && isPending(m)));
            });
        });
    }

    realMarks(epoch) {
        return this.state.marks.filter((m) => m.epoch === epoch && !isDummy(m) && (m.waitingForTrust !== true || m.matchedAt));
    }

    padding(program) { return Math.min(this.state.padTo ?? program.maxMarks, program.maxMarks); }

    /** Brings the dummies of the current epoch to the padding: surplus ones leave at random, new ones join. */
    async pad(program) {
        const needed = Math.max(0, this.padding(program) - this.realMarks(program.epoch).length);
        const dummies = shuffled(this.state.marks.filter((m) => isDummy(m) && isWanted(m, program.epoch)));
        const surplus = new Set(dummies.slice(needed).map((m) => m.token));
        this.state.marks = this.state.marks.filter((m) => !surplus.has(m.token));
        for (let i = dummies.length; i < needed; i++) this.state.marks.push(await this.newDummy(program.epoch));
    }

    /** After a new epoch or a key rotation: derive pending interests again and replace every dummy. */
    async moveToEpoch(epoch, replica) {
        const all = this.state.resubmitPending === true;
        const isStale = (m) => isPending(m) && m.waitingForTrust !== true && (all || m.epoch !== epoch);
        const stale = this.state.marks.filter(isStale);
        if (!stale.length && !all) return;
        this.state.marks = this.state.marks.filter((m) => !isStale(m));
        for (const old of stale) {
            if (isDummy(old)) continue;
            const pinned = this.state.pinnedKeys[old.handle];
            const derived = pinned !== undefined && replica.live(old.handle) === pinned ? await this.rederive(old.handle, old.wants, epoch) : null;
            if (!derived) {
                this.state.marks.push({ ...old, waitingForTrust: true });
                continue;
            }
            this.state.marks.push(this.localMark(derived, old.handle, old.wants, epoch, old.createdAt, old.note));
        }
        delete this.state.resubmitPending;
    }

    /** The program as served, refused when its epoch goes back or its quota fell below the padding. */
    checkedProgram(program, padTo) {
        if (this.state.epoch !== undefined && program.epoch < this.state.epoch) {
            throw new ClientError("epoch-rollback", `the server says program ${program.name} is in epoch ${program.epoch}, but this device already saw epoch ${this.state.epoch}; refusing to go back`);
        }
        this.state.epoch = program.epoch;
        if (padTo !== undefined) this.state.padTo = padTo;
        if (this.state.padTo === undefined || this.state.padTo === null) this.state.padTo = program.maxMarks;
        if (this.state.padTo > program.maxMarks) {
            throw new ClientError("quota-lowered",
                `program ${program.name} now allows ${program.maxMarks} marks per epoch, fewer than the ${this.state.padTo} this device keeps pending; ` +
                "lowering the padding would show the server which withdrawn marks are dummies: ask the operator why the quota fell");
        }
        return program;
    }

    /** Runs `body` on the state; if it fails before anything was sent, the state goes back, in memory and stored. */
    async rollingBack(body) {
        const original = clone(this.state);
        try {
            return await body();
        } catch (error) {
            if (error instanceof AfterSending) throw error.error;
            this.state = original;
            await this.save().catch(() => {});
            throw error;
        }
    }

    /**
     * The frame of every command that changes marks: program, replica, epoch move; `body(program, replica,
     * renoted)` changes the local set; then padding and one replacement request. A refusal in `body` still sends
     * the same replacement request (a dummy for a new one) before it is reported.
     */
    changingMarks(minimumChange, padTo, body) {
        return this.rollingBack(async () => {
            const served = (await this.api.me()).program;
            if (padTo !== undefined && padTo > served.maxMarks) {
                throw new ClientError("invalid-argument", `the padding must be at most ${served.maxMarks}, the most marks program ${served.name} allows; got ${padTo}`);
            }
            const program = this.checkedProgram(served, padTo);
            const replica = await this.syncedDirectory();
            // Matches first: a mark matched in the old epoch is not moved to the new one as pending.
            await this.checkMatches();
            await this.moveToEpoch(program.epoch, replica);
            const before = clone(this.state);
            const renoted = new Set();
            let result;
            try {
                result = await body(program, replica, renoted);
            } catch (refusal) {
                if (!(refusal instanceof ClientError)) throw refusal;
                this.state = before;
                await this.pad(program);
                try {
                    await this.converge(program, new Set(), minimumChange);
                } catch (error) {
                    if (!(error instanceof AfterSending)) throw error;
                }
                throw new AfterSending(refusal);
            }
            await this.pad(program);
            try {
                await this.converge(program, renoted, minimumChange);
            } catch (error) {
                if (error instanceof AfterSending && error.error.code === "quota-exceeded") {
                    throw new AfterSending(quotaExceeded(program, "the server holds more marks of yours than this device knows of"));
                }
                throw error;
            }
            return result;
        });
    }

    /**
     * Makes the server's pending marks of the epoch equal to this device's in one request (withdrawals and
     * submissions in random order); replaces random held dummies to change at least `minimumChange` marks.
     */
    async converge(program, renoted = new Set(), minimumChange = 0) {
        this.lastAnswer = {};
        // Replacement dummies are derived before the request, used or not: the time between GET and POST is
        // the same whichever marks change.
        const replacements = [];
        for (let i = 0; i < minimumChange; i++) replacements.push(await this.newDummy(program.epoch));
        const held = new Set((await this.api.pendingMarks()).filter((m) => m.epoch === program.epoch).map((m) => m.token));
        const wanted = this.state.marks.filter((m) => isWanted(m, program.epoch));
        const wantedTokens = new Set(wanted.map((m) => m.token));
        const withdraw = new Set([...held].filter((t) => !wantedTokens.has(t)));
        for (const token of renoted) withdraw.add(token);
        const submit = wanted.filter((m) => !held.has(m.token) || renoted.has(m.token));
        const spare = shuffled(wanted.filter((m) => isDummy(m) && held.has(m.token)));
        while (submit.length < minimumChange && spare.length) {
            const old = spare.pop();
            const dummy = replacements.pop();
            this.state.marks = this.state.marks.filter((m) => m.token !== old.token);
            this.state.marks.push(dummy);
            withdraw.add(old.token);
            submit.push(dummy);
        }
        // Recorded before sending: a crash after the server stored the marks cannot leave marks unknown here.
        await this.save();
        if (!submit.length && !withdraw.size) return;
        const marks = [];
        for (const local of shuffled(submit)) marks.push(await this.markFor(local));
        let results = [];
        try {
            if (!marks.length) {
                for (const token of shuffled([...withdraw])) await this.api.withdraw(token);
            } else {
                results = await this.api.submit(program.epoch, marks, shuffled([...withdraw]));
            }
        } catch (error) {
            if (error.code === "unreachable") {
                throw new AfterSending(new ClientError("unreachable", `${error.message}; the change is recorded on this device and the next change completes it`));
            }
            throw new AfterSending(error);
        }
        const sent = new Set(marks.map((m) => m.token));
        for (const result of results) if (sent.has(result.token) && !(result.token in this.lastAnswer)) this.lastAnswer[result.token] = result.status;
    }

    /**
     * What is sent for a local mark: a real one derived again (to seal its note); a dummy with a derivation
     * against a throwaway key that seals an empty note, so both cost the same between GET and POST. A real mark
     * whose person's key changed since (it can no longer match, and nothing is derived with a retired key) goes
     * as it was recorded, with a note sealed as a dummy's: this runs between GET and POST, so nothing here may
     * fail or differ because a mark is real or whom it is on (client.md section 3).
     */
    async markFor(local) {
        if (isDummy(local) || this.keyChanged(local)) {
            const derived = await this.throwawayDerivation(undefined, local.epoch);
            return { token: local.token, tag: local.ownTag, note: b64(await sealNote(derived, "")) };
        }
        const derived = await this.rederive(local.handle, local.wants, local.epoch);
        if (!derived || b64(derived.token) !== local.token) throw new ClientError("corrupt-state", `the local record of your mark on ${local.handle} does not derive again`);
        return { token: local.token, tag: b64(derived.ownTag), note: b64(await sealNote(derived, local.note ?? "")) };
    }

    // --- matches -----------------------------------------------------------------------------------------

    /**
     * Fetches matches and verifies each here (setting `matchedAt` on verified ones); only a report with
     * `verified` is a match. Run before an epoch move or a re-derivation: a matched mark is no longer pending.
     */
    async checkMatches() {
        const reports = [];
        for (const match of await this.api.matches()) {
            const local = this.state.marks.find((m) => m.token === match.token) ?? null;
            // The confirmation tag, derived from the key pinned when marking, is the proof; the server reports
            // the counterpart's current key, which changes when they rotate, so it is not compared.
            let ok = false;
            if (local && !isDummy(local) && local.counterpartTag && match.handle === local.handle) {
                try {
                    ok = verifyMatchTag({ counterpartTag: base64urlDecode(local.counterpartTag, 32) }, base64urlDecode(match.tag, 32));
                } catch { /* malformed tag */ }
            }
            if (!ok) {
                // One sentence for every failure: it names nobody and does not tell a dummy from a real token.
                reports.push({ handle: null, matchedAt: match.matchedAt, verified: false, problem: UNVERIFIED_MATCH });
                continue;
            }
            if (!local.matchedAt) local.matchedAt = match.matchedAt;
            let note = null, noteProblem = null;
            if (match.note) {
                try {
                    const derived = await this.rederive(local.handle, local.wants, local.epoch, { checkLive: false });
                    if (!derived) throw new Error("no pinned key");
                    note = await openNote(derived, base64urlDecode(match.note, 540));
                } catch {
                    noteProblem = `the note from ${local.handle} could not be opened (tampered or malformed)`;
                }
            }
            reports.push({
                handle: match.handle, wants: local.wants, matchedAt: match.matchedAt, verified: true, problem: null,
                note: note || null, noteProblem, fingerprint: await fingerprintOf(this.state.pinnedKeys[match.handle]),
            });
        }
        return reports;
    }

    /** Fetches matches and verifies each here. Only a report with `verified` is a match. */
    matches() {
        return this.serial(() => this.rollingBack(async () => {
            const me = await this.api.me();
            const program = this.checkedProgram(me.program);
            this.lastMe = me;
            const replica = await this.syncedDirectory();
            const reports = await this.checkMatches();
            // Verified matches are no longer pending; then the epoch move or an interrupted change, if any.
            await this.moveToEpoch(program.epoch, replica);
            await this.pad(program);
            await this.converge(program);
            await this.save();
            return reports;
        }));
    }
}

/** What a match that does not verify is reported as, whatever the reason. */
export const UNVERIFIED_MATCH = "the server reports a match that does not verify here (it may have fabricated it); it is not shown as a match";

/** The fingerprint of a base64url public key. */
export function fingerprintOf(key) {
    return fingerprint(base64urlDecode(key, 32));
}

