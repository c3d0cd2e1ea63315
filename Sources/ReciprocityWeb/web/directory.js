// @ts-check
// The program's directory, kept in this page (issue #23; Specs/client.md section 8): every public profile,
// brought up to date from GET /v1/profiles at start and on a timer that nothing the member does moves, kept in
// IndexedDB across reloads, and searched, filtered, paged and ranked here. No request carries what the member
// types or chooses, and none is sent because of a search.

import { ClientError } from "./server-api.js";
import { committed, deleteDatabase, request } from "./member-state.js";

const DB_NAME = "reciprocity-directory";
const PROFILES = "profiles"; // {handle, profile, joinedAt}, by handle
const META = "meta"; // "sync": {program, cursor}
const MAX_PAGES = 10_000; // a server whose pages never end is stopped, not followed forever

function openDB() {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => {
        req.result.createObjectStore(PROFILES, { keyPath: "handle" });
        req.result.createObjectStore(META);
    };
    return request(req);
}

/** Deletes the replica (with "Forget this device"). */
export function forgetDirectory() {
    return deleteDatabase(DB_NAME);
}

/**
 * Text as every client's search compares it (DirectorySearch.text in ReciprocityCore): case, width and
 * diacritics folded, combining marks dropped. Upper then lower case folds "ß" to "ss" as Foundation does.
 */
export function folded(text) {
    return String(text).normalize("NFKD").replace(/\p{M}/gu, "").toUpperCase().toLowerCase();
}

const utf8 = new TextEncoder();

/** A profile's searchable text, folded and cut at 1,024 UTF-8 bytes as DirectorySearch.text cuts it. */
function searchText(profile) {
    const text = folded(`${profile.displayName}\n${profile.headline}`);
    if (text.length <= 256 || utf8.encode(text).length <= 1024) return text;
    let bytes = 0, end = 0;
    for (const char of text) {
        bytes += utf8.encode(char).length;
        if (bytes > 1024) break;
        end += char.length;
    }
    return text.slice(0, end);
}

const byHandle = (a, b) => (a.handle < b.handle ? -1 : a.handle > b.handle ? 1 : 0);

/** One change of GET /v1/profiles, checked: `{handle, entry}`, `entry` null when the handle leaves. */
function checkedChange(change) {
    const handle = change?.handle;
    if (typeof handle !== "string" || !/^[a-z0-9][a-z0-9._-]{2,63}$/.test(handle)) {
        throw new ClientError("bad-response", "the server's directory changes hold a malformed handle");
    }
    const p = change.profile;
    if (p === undefined || p === null) return { handle, entry: null };
    const ok = typeof p === "object" && typeof p.displayName === "string"
        && (p.headline === undefined || typeof p.headline === "string")
        && (p.tags === undefined || (Array.isArray(p.tags) && p.tags.every((t) => typeof t === "string")))
        && (p.offersMentoring === undefined || typeof p.offersMentoring === "boolean")
        && (p.seeksMentoring === undefined || typeof p.seeksMentoring === "boolean");
    if (!ok) throw new ClientError("bad-response", `the server's directory changes hold a malformed profile for ${handle}`);
    const profile = {
        displayName: p.displayName, headline: p.headline ?? "", tags: p.tags ?? [],
        offersMentoring: p.offersMentoring ?? false, seeksMentoring: p.seeksMentoring ?? false,
    };
    return { handle, entry: { handle, profile, joinedAt: typeof change.joinedAt === "string" ? change.joinedAt : null } };
}

/** The replica of one program's directory: `members` in memory, the same in IndexedDB, and the sync cursor. */
export class DirectoryReplica {
    constructor(program) {
        this.program = program;
        this.cursor = null;
        this.members = new Map(); // handle -> {handle, profile, joinedAt, text}
        this.sorted = [];
        this.running = null;
    }

    /** The replica stored for `program`, or an empty one (another program's is replaced at the first sync). */
    static async open(program) {
        const replica = new DirectoryReplica(program);
        const db = await openDB();
        try {
            const tx = db.transaction([PROFILES, META], "readonly");
            const [meta, entries] = await Promise.all([request(tx.objectStore(META).get("sync")), request(tx.objectStore(PROFILES).getAll())]);
            if (meta?.program === program) {
                replica.cursor = meta.cursor;
                for (const entry of entries) replica.members.set(entry.handle, entry);
                replica.index();
            }
        } finally {
            db.close();
        }
        return replica;
    }

    /** Whether a sync ever completed for this program (an empty directory is then really empty). */
    get synced() { return this.cursor !== null; }

    index() {
        this.sorted = [...this.members.values()].sort(byHandle);
        for (const entry of this.sorted) entry.text ??= searchText(entry.profile);
    }

    /**
     * Brings the replica up to the server's directory: GET /v1/profiles from the cursor (none at first: the whole
     * directory) while the server has more, then one IndexedDB transaction. Concurrent calls share one run.
     * Resolves to the number of handles that changed.
     */
    sync(api) {
        this.running ??= this.pull(api).finally(() => { this.running = null; });
        return this.running;
    }

    async pull(api) {
        let cursor = this.cursor;
        let reset = false;
        const changed = new Map();
        for (let page = 0; ; page++) {
            if (page === MAX_PAGES) throw new ClientError("bad-response", "the server's directory changes do not end");
            const answer = await api.profiles(cursor);
            if (!answer || !Array.isArray(answer.changes) || typeof answer.cursor !== "string" || !answer.cursor) {
                throw new ClientError("bad-response", "the server's answer to GET /v1/profiles is not what the API describes");
            }
            if (answer.reset === true) {
                reset = true;
                changed.clear();
            }
            for (const change of answer.changes) {
                const { handle, entry } = checkedChange(change);
                changed.set(handle, entry);
            }
            cursor = answer.cursor;
            if (answer.more !== true) break;
        }
        const db = await openDB();
        try {
            const tx = db.transaction([PROFILES, META], "readwrite");
            const profiles = tx.objectStore(PROFILES);
            if (reset || this.cursor === null) profiles.clear();
            for (const [handle, entry] of changed) {
                if (entry) profiles.put(entry);
                else profiles.delete(handle);
            }
            tx.objectStore(META).put({ program: this.program, cursor }, "sync");
            await committed(tx);
        } finally {
            db.close();
        }
        if (reset || this.cursor === null) this.members.clear();
        for (const [handle, entry] of changed) {
            if (entry) this.members.set(handle, entry);
            else this.members.delete(handle);
        }
        this.cursor = cursor;
        this.index();
        return changed.size;
    }

    /**
     * The members matching `query`, by handle, as the server's search matched: `q` a folded substring of the
     * handle, display name or headline; `tag` one of the tags; `offersMentoring`, `seeksMentoring` when true.
     */
    search({ q = "", tag = "", offersMentoring = false, seeksMentoring = false } = {}) {
        const text = folded(q.trim());
        const wanted = tag.trim().toLowerCase();
        return this.sorted.filter((m) => (!offersMentoring || m.profile.offersMentoring)
            && (!seeksMentoring || m.profile.seeksMentoring)
            && (!wanted || m.profile.tags.includes(wanted))
            && (!text || m.handle.includes(text) || m.text.includes(text)));
    }

    /** Up to `count` members other than `self` who pass `filter`, ranked by the tags they share with `tags`. */
    ranked(tags, self, filter, count = 6) {
        const mine = new Set(tags);
        return this.search(filter)
            .filter((m) => m.handle !== self)
            .map((m) => ({ member: m, shared: m.profile.tags.filter((t) => mine.has(t)) }))
            .filter((s) => s.shared.length > 0)
            .sort((a, b) => b.shared.length - a.shared.length || byHandle(a.member, b.member))
            .slice(0, count);
    }
}
