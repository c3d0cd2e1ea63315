// The members' web app: screens over membership.js (the membership) and directory.js (the directory replica).
// No inline script or style (the CSP forbids them); every text from the server or another member is set as
// text, never as HTML.

import { exportBackup, importBackup, MIN_ITERATIONS } from "./backup.js";
import { DirectoryReplica, forgetDirectory } from "./directory.js";
import { ClientError, fingerprintOf, forgetDevice, Membership, NOTE_MAX_BYTES } from "./membership.js";
import { capitalise, describe } from "./sentences.js";

const POLL_MS = 10_000;
const DIRECTORY_SYNC_MS = 180_000;
const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
        if (value === false || value === undefined || value === null) continue;
        if (name === "class") node.className = value;
        else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
}

function showError(error, { focus = true } = {}) {
    const box = $("error");
    const { text, code } = describe(error);
    box.replaceChildren(el("p", {}, text), el("p", { class: "help" }, `Error code: ${code}`));
    box.hidden = false;
    if (focus) box.focus(); // a background poll announces (role=alert) without moving the focus
}

function clearMessages() {
    $("error").hidden = true;
    $("error").replaceChildren();
    $("status").textContent = "";
}

function say(text) {
    $("status").textContent = text;
}

/** Runs `body` with `button` disabled; a failure becomes the page's error message. */
async function act(button, body) {
    clearMessages();
    if (button) button.disabled = true;
    document.body.setAttribute("aria-busy", "true");
    try {
        return await body();
    } catch (error) {
        showError(error);
        return undefined;
    } finally {
        document.body.removeAttribute("aria-busy");
        if (button) button.disabled = false;
    }
}

// --- screens ---------------------------------------------------------------------------------------------
//
// What the server sees must not depend on which screen the member looks at or which change they made (issue
// #23, Specs/client.md section 3): every screen is shown after the same refresh, one poll (GET /v1/me, the key
// log, GET /v1/matches, GET /v1/marks), and then drawn from this device's state alone; an action that changes
// marks (add, a new note, withdraw, trust, a key rotation) is followed by no request at all, only by drawing
// the screen again. Matches and changed keys it caused show at the next poll (at most POLL_MS later).

let membership = null;
let current = null;
const renderers = {};

function showScreen(name, { focus = true } = {}) {
    for (const section of document.querySelectorAll("main > section")) section.hidden = section.id !== `screen-${name}`;
    for (const button of document.querySelectorAll("#nav button")) {
        if (button.dataset.screen === name) button.setAttribute("aria-current", "page");
        else button.removeAttribute("aria-current");
    }
    current = name;
    document.title = `${$(`screen-${name}`).querySelector("h1").textContent} · Reciprocity`;
    if (focus) $("main").focus();
    if (!membership) return undefined;
    return act(null, async () => {
        try {
            await pollMatches();
        } catch {
            // Shown by pollMatches; the screen still shows what this device knows.
        }
        await renderers[name]?.();
    });
}

/** Draws the current screen again from this device's state, without a request. */
function redraw() {
    return renderers[current]?.();
}

for (const button of document.querySelectorAll("#nav button")) {
    button.addEventListener("click", () => {
        clearMessages();
        showScreen(button.dataset.screen);
    });
}

function enterApp() {
    $("nav").hidden = false;
    startPolling();
    startDirectorySync();
}

// --- join ------------------------------------------------------------------------------------------------

function profileFrom(form) {
    const data = new FormData(form);
    return {
        displayName: String(data.get("displayName") ?? "").trim(),
        headline: String(data.get("headline") ?? "").trim(),
        tags: String(data.get("tags") ?? "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean),
        offersMentoring: data.get("offersMentoring") === "on",
        seeksMentoring: data.get("seeksMentoring") === "on",
    };
}

function fillProfileForm(prefix, profile) {
    $(`${prefix}-name`).value = profile.displayName;
    $(`${prefix}-headline`).value = profile.headline ?? "";
    $(`${prefix}-tags`).value = (profile.tags ?? []).join(", ");
    $(`${prefix}-offers`).checked = !!profile.offersMentoring;
    $(`${prefix}-seeks`).checked = !!profile.seeksMentoring;
}

$("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act(form.querySelector("button[type=submit]"), async () => {
        const data = new FormData(form);
        const program = String(data.get("program")).trim();
        const invite = String(data.get("invite")).trim();
        const handle = String(data.get("handle")).trim();
        const profile = profileFrom(form);
        if (!program || !invite) throw new ClientError("missing", "Give the program and the invite code from your invite link");
        if (!handle) throw new ClientError("missing", "Choose a handle");
        if (!profile.displayName) throw new ClientError("missing", "Give a display name");
        try {
            membership = await Membership.join({ program, invite, handle, profile });
        } catch (error) {
            // A failure after the server accepted the join keeps the membership (its credential is stored).
            membership = await Membership.open();
            if (!membership) throw error;
            enterApp();
            await showScreen("profile");
            throw error;
        }
        history.replaceState(null, "", "/");
        enterApp();
        await showScreen("profile");
        say(`Welcome! You joined ${program} as ${membership.state.handle}.`);
    });
});

// --- profile ---------------------------------------------------------------------------------------------

let myProfile = null;

renderers.profile = () => {
    const me = membership.lastMe;
    if (!me) return; // the refresh failed and says so; nothing to show yet
    myProfile = me.member.profile;
    const p = myProfile;
    $("profile-view").replaceChildren(
        el("dt", {}, "Handle"), el("dd", {}, me.member.handle),
        el("dt", {}, "Program"), el("dd", {}, me.program.name),
        el("dt", {}, "Display name"), el("dd", {}, p.displayName),
        el("dt", {}, "Headline"), el("dd", {}, p.headline || "—"),
        el("dt", {}, "Tags"), el("dd", {}, p.tags.length ? p.tags.join(", ") : "—"),
        el("dt", {}, "Open to mentoring"), el("dd", {}, p.offersMentoring ? "Yes" : "No"),
        el("dt", {}, "Looking for a mentor"), el("dd", {}, p.seeksMentoring ? "Yes" : "No"));
    fillProfileForm("profile", p);
};

$("profile-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.target.querySelector("button[type=submit]"), async () => {
        const profile = profileFrom(event.target);
        if (!profile.displayName) throw new ClientError("missing", "Give a display name");
        await membership.updateProfile(profile);
        await redraw();
        say("Profile saved.");
    });
});

// --- directory -------------------------------------------------------------------------------------------

const selected = new Set();
let query = {};
let page = 0;
let directory = null; // the DirectoryReplica of this membership's program

function card(member, prefix, shared = []) {
    const p = member.profile;
    const id = `${prefix}-${member.handle}`;
    const box = el("input", { type: "checkbox", id, "data-handle": member.handle, checked: selected.has(member.handle) });
    box.addEventListener("change", () => {
        if (box.checked) selected.add(member.handle);
        else selected.delete(member.handle);
        syncSelection();
    });
    const self = membership && member.handle === membership.state.handle;
    const mine = membership ? membership.interests.filter((m) => m.handle === member.handle) : [];
    return el("li", { class: "card" },
        el("h3", {}, p.displayName),
        el("p", { class: "handle" }, `@${member.handle}`),
        p.headline ? el("p", {}, p.headline) : null,
        el("p", {},
            p.offersMentoring ? el("span", { class: "flag" }, "Open to mentoring") : null,
            p.seeksMentoring ? el("span", { class: "flag" }, "Looking for a mentor") : null),
        p.tags.length ? el("ul", { class: "tags", "aria-label": "Tags" }, p.tags.map((t) => el("li", { class: shared.includes(t) ? "shared" : null }, t))) : null,
        shared.length ? el("p", { class: "help" }, `${shared.length} shared tag${shared.length > 1 ? "s" : ""}`) : null,
        mine.map((m) => el("p", { class: "help" }, `You marked them ${WANTS[m.wants]} (${m.matchedAt ? "matched" : "pending"}; only you can see this)`)),
        self ? el("p", { class: "help" }, "This is you") : el("div", { class: "check" }, box, el("label", { for: id }, `Select ${p.displayName}`)));
}

function syncSelection() {
    for (const box of document.querySelectorAll("input[data-handle]")) box.checked = selected.has(box.dataset.handle);
    const n = selected.size;
    $("mark-selected").textContent = n ? `Selected (${n}): ${[...selected].join(", ")}` : "Nobody selected yet.";
    $("mark-submit").disabled = n === 0;
    $("mark-submit").textContent = n > 1 ? `Mark ${n} people privately` : "Mark privately";
}

const PAGE_SIZE = 20;

/** One page of the local search (directory.js): no request, whatever is searched. */
function renderDirectoryPage() {
    const found = directory ? directory.search(query) : [];
    const last = Math.max(0, Math.ceil(found.length / PAGE_SIZE) - 1);
    page = Math.min(page, last);
    const shown = found.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const list = $("directory-list");
    list.replaceChildren(...shown.map((m) => card(m, "dir")));
    if (!directory?.synced) list.append(el("li", {}, "Loading the directory…"));
    else if (!shown.length) list.append(el("li", {}, "Nobody matches this search."));
    $("directory-count").textContent = directory?.synced
        ? `${found.length} member${found.length === 1 ? "" : "s"}${found.length > PAGE_SIZE ? `, page ${page + 1} of ${last + 1}` : ""}`
        : "";
    $("page-next").disabled = page >= last;
    $("page-prev").disabled = page === 0;
}

/** Members ranked by the tags they share with mine, from the local directory (public profile data only). */
function suggestionGroups() {
    const mine = membership.lastMe?.member.profile ?? myProfile;
    if (!directory || !mine) return [];
    const rank = (filter) => directory.ranked(mine.tags, membership.state.handle, filter);
    const groups = [];
    if (mine.seeksMentoring || !mine.offersMentoring) groups.push(["People who could mentor you", "sug-mentor", rank({ offersMentoring: true })]);
    if (mine.offersMentoring) groups.push(["People you could mentor", "sug-mentee", rank({ seeksMentoring: true })]);
    return groups;
}

function renderSuggestions() {
    const box = $("suggestions");
    box.replaceChildren();
    for (const [title, prefix, items] of suggestionGroups()) {
        const id = `${prefix}-title`;
        box.append(el("h3", { id }, title));
        box.append(items.length
            ? el("ul", { class: "cards", "aria-labelledby": id }, items.map((s) => card(s.member, prefix, s.shared)))
            : el("p", { class: "help" }, "Nobody shares a tag with you yet. Add tags to your profile to get suggestions."));
    }
}

renderers.directory = () => {
    renderDirectoryPage();
    renderSuggestions();
    syncSelection();
};

$("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    query = {
        q: String(data.get("q") ?? ""), tag: String(data.get("tag") ?? ""),
        offersMentoring: data.get("offersMentoring") === "on", seeksMentoring: data.get("seeksMentoring") === "on",
    };
    page = 0;
    clearMessages();
    renderDirectoryPage();
    syncSelection();
});

$("page-next").addEventListener("click", () => {
    page += 1;
    renderDirectoryPage();
    syncSelection();
    $("directory-list").querySelector("input")?.focus();
});
$("page-prev").addEventListener("click", () => {
    page = Math.max(0, page - 1);
    renderDirectoryPage();
    syncSelection();
});

/**
 * The directory replica's sync: at start and every DIRECTORY_SYNC_MS while the page is visible, on a timer no
 * action moves, never because of a search. A failure keeps the replica as it was.
 */
async function syncDirectory() {
    if (!membership) return;
    const owner = membership;
    try {
        if (directory?.program !== owner.state.program) directory = await DirectoryReplica.open(owner.state.program);
        const first = !directory.synced;
        const changed = await directory.sync(owner.api);
        if (membership === owner && current === "directory" && (first || changed)) {
            renderDirectoryPage();
            if (first) renderSuggestions();
            syncSelection();
        }
    } catch (error) {
        if (membership === owner) showError(error, { focus: false });
    }
}

let directorySyncTimer = null;
/** Syncs once now (a way into the app: start, join, restore), then on the timer. */
function startDirectorySync() {
    syncDirectory();
    if (directorySyncTimer) return;
    directorySyncTimer = setInterval(() => {
        if (document.visibilityState === "visible") syncDirectory();
    }, DIRECTORY_SYNC_MS);
}

const encoder = new TextEncoder();
function updateNoteCount() {
    const bytes = encoder.encode($("mark-note").value).length;
    const count = $("note-count");
    count.textContent = bytes > NOTE_MAX_BYTES
        ? `${bytes} of ${NOTE_MAX_BYTES} bytes: ${bytes - NOTE_MAX_BYTES} too many`
        : `${bytes} of ${NOTE_MAX_BYTES} bytes`;
    count.classList.toggle("over", bytes > NOTE_MAX_BYTES);
    $("mark-note").setAttribute("aria-invalid", String(bytes > NOTE_MAX_BYTES));
}
$("mark-note").addEventListener("input", updateNoteCount);

const WANTS = { mentor: "as your mentor", mentee: "as your mentee", peer: "as a peer" };

$("mark-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act($("mark-submit"), async () => {
        const handles = [...selected];
        const wants = new FormData(event.target).get("wants");
        const note = $("mark-note").value;
        if (!handles.length) throw new ClientError("missing", "Select at least one person first");
        const results = await membership.addInterest(handles, wants, { note });
        selected.clear();
        $("mark-note").value = "";
        updateNoteCount();
        await redraw(); // the cards say whom you marked: from this device's records, no request
        const matched = results.filter((r) => r.state === "matched").map((r) => r.handle);
        // No request follows, whatever the answer (see "screens"): the next poll verifies a match.
        say(`Marked privately: ${handles.join(", ")} ${WANTS[wants]}.` + (matched.length
            ? ` The server reports a match with ${matched.join(", ")}: it shows under Matches once verified here, within ${POLL_MS / 1000} seconds.` : ""));
    }).finally(() => syncSelection());
});

// --- interests -------------------------------------------------------------------------------------------

renderers.interests = () => {
    const marks = membership.interests;
    const box = $("interests-list");
    if (!marks.length) {
        box.replaceChildren(el("p", {}, "You have not marked anyone yet. Find people in the Directory."));
        return;
    }
    const rows = marks.map((mark) => {
        let state = mark.matchedAt ? "Matched" : "Pending";
        if (!mark.matchedAt && (mark.waitingForTrust || membership.keyChanged(mark))) state = "Waiting: their key changed; check and trust it on the Keys screen";
        const withdraw = mark.matchedAt ? "—" : el("button", { type: "button" }, `Withdraw ${mark.handle}`);
        if (withdraw instanceof HTMLElement) {
            withdraw.addEventListener("click", () => act(withdraw, async () => {
                await membership.removeInterest(mark.handle, mark.wants);
                redraw();
                say(`Withdrew your interest in ${mark.handle}.`);
            }));
        }
        return el("tr", {}, el("td", {}, mark.handle), el("td", {}, WANTS[mark.wants] ?? mark.wants),
            el("td", {}, state), el("td", {}, mark.note ? el("span", { class: "note" }, mark.note) : "—"), el("td", {}, withdraw));
    });
    box.replaceChildren(el("table", {},
        el("caption", { class: "help" }, `${marks.length} interest${marks.length > 1 ? "s" : ""}, padded on the server to ${membership.state.padTo ?? "the program's quota"} marks with dummies`),
        el("thead", {}, el("tr", {}, ["Person", "You want them", "State", "Your note", "Action"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows)));
};

// --- matches ---------------------------------------------------------------------------------------------

let knownMatches = null;
let lastPollError = null;

function renderMatches(reports) {
    const verified = reports.filter((r) => r.verified);
    const list = $("matches-list");
    list.replaceChildren(...verified.map((r) => el("li", { class: "card" },
        el("h3", {}, r.handle),
        el("p", {}, `You wanted them ${WANTS[r.wants] ?? ""}. Matched ${new Date(r.matchedAt).toLocaleString()}.`),
        r.noteProblem ? el("p", { class: "warning" }, `Warning: ${r.noteProblem}.`)
            : r.note ? el("div", {}, el("p", { class: "help" }, "Their note:"), el("p", { class: "note" }, r.note))
            : el("p", { class: "help" }, "No note."),
        el("p", {}, "Their key fingerprint: ", el("code", { class: "fp" }, r.fingerprint ?? "")))));
    if (!verified.length) list.append(el("li", {}, "No matches yet."));
    // One generic sentence: it names nobody and reads the same for a dummy's token and a real one's.
    const unverified = reports.some((r) => !r.verified);
    $("match-warnings").replaceChildren(...(unverified
        ? [el("p", { class: "warning" }, "Warning: the server reports a match that does not verify here (it may have fabricated it); it is not shown as a match.")]
        : []));
    const badge = $("match-count");
    badge.textContent = String(verified.length);
    badge.hidden = verified.length === 0;
    badge.setAttribute("aria-label", `${verified.length} matches`);
}

async function pollMatches({ quiet = false } = {}) {
    if (!membership) return;
    try {
        const reports = await membership.matches();
        renderMatches(reports);
        const handles = reports.filter((r) => r.verified).map((r) => `${r.handle}/${r.wants}`);
        if (knownMatches) {
            const fresh = handles.filter((h) => !knownMatches.has(h));
            // Added to what the page says already (a mark's own answer, say), not in its place.
            if (fresh.length) {
                const before = $("status").textContent.replace(/\s*New match: [^!]*! See Matches\./g, "");
                say(`${before} New match: ${fresh.map((h) => h.split("/")[0]).join(", ")}! See Matches.`.trim());
            }
        }
        knownMatches = new Set(handles);
        if (lastPollError) {
            lastPollError = null;
            if (quiet) clearMessages();
        }
    } catch (error) {
        if (!quiet || lastPollError !== error.code) showError(error, { focus: !quiet });
        lastPollError = error.code;
        if (!quiet) throw error;
    }
}

$("matches-refresh").addEventListener("click", (event) => act(event.target, () => pollMatches()));

let pollTimer = null;
/** The regular poll: on a timer that no action of the member's moves (each way into the app shows a screen, which polls). */
function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(() => {
        if (document.visibilityState === "visible") pollMatches({ quiet: true });
    }, POLL_MS);
}

// --- keys ------------------------------------------------------------------------------------------------

renderers.keys = async () => {
    $("my-fingerprint").textContent = await membership.fingerprint(null);
    $("my-tree-head").value = membership.state.treeHead ?? ""; // verified by the poll that showed this screen
    const changed = await membership.changedKeys();
    const box = $("changed-keys");
    if (!changed.length) {
        box.replaceChildren(el("p", {}, "No key you pinned has changed."));
        return;
    }
    box.replaceChildren(...changed.map((c) => {
        const trust = el("button", { type: "button" }, `I checked it with ${c.handle}: trust the new key`);
        trust.addEventListener("click", () => act(trust, async () => {
            const fp = await membership.trust(c.handle);
            await redraw();
            say(`You now trust ${c.handle}'s new key (${fp}); your pending interest in them was derived again.`);
        }));
        return el("div", { class: "warning" },
            el("p", {}, `${c.handle}'s key changed. Until you trust the new key you cannot mark them, and your marks on them wait.`),
            el("p", {}, "Pinned: ", el("code", { class: "fp" }, c.pinned)),
            el("p", {}, "Now: ", el("code", { class: "fp" }, c.live)),
            el("p", {}, `Ask ${c.handle} for their fingerprint another way (in person, by phone). Trust it only if it is the same.`),
            trust);
    }));
};

$("fingerprint-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const handle = String(new FormData(event.target).get("handle")).trim();
    act(event.target.querySelector("button"), async () => {
        $("fingerprint-result").textContent = "";
        const fp = await membership.fingerprint(handle);
        $("fingerprint-result").replaceChildren(`${handle}: `, el("code", { class: "fp" }, fp));
    });
});

$("gossip-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const line = String(new FormData(event.target).get("head")).trim();
    act(event.target.querySelector("button"), async () => {
        const result = $("gossip-result");
        result.textContent = "Checking…";
        try {
            const head = await membership.checkGossipedHead(line);
            $("my-tree-head").value = head;
            result.textContent = "Consistent: that head is part of the same log the server shows you (no fork between you).";
        } catch (error) {
            const { text, code } = describe(error);
            const sentence = {
                "log-invalid-head": "Refused: that is not a tree head line (reciprocity-sth/v1 followed by five fields).",
                "log-signature": "Refused: that head is not signed by your program's log key (mistyped, tampered with, or from another program or server).",
                "log-future-head": `Refused: that head is dated in the future. ${capitalise(error.message)}.`,
                "log-fork": `Fork: the server showed that person a log that is not the one it shows you. ${capitalise(error.message)}. Keep both lines as evidence and tell your program's organiser.`,
            }[code] ?? text;
            result.textContent = `${sentence} (Error code: ${code})`;
        }
    });
});

// A step that asks first: "NAME-start" shows "NAME-confirm" and moves to "NAME-go"; "NAME-cancel" hides it again.
function confirmStep(name) {
    $(`${name}-start`).addEventListener("click", () => {
        $(`${name}-confirm`).hidden = false;
        $(`${name}-go`).focus();
    });
    $(`${name}-cancel`).addEventListener("click", () => {
        $(`${name}-confirm`).hidden = true;
        $(`${name}-start`).focus();
    });
}

confirmStep("rotate");
$("rotate-go").addEventListener("click", (event) => act(event.target, async () => {
    const fp = await membership.rotateKey();
    $("rotate-confirm").hidden = true;
    await redraw();
    say(`Your key was replaced. New fingerprint: ${fp}.`);
}));

// --- this device -----------------------------------------------------------------------------------------

renderers.device = async () => {
    const s = membership.state;
    $("device-facts").replaceChildren(
        el("dt", {}, "Server"), el("dd", {}, s.server),
        el("dt", {}, "Program"), el("dd", {}, s.program),
        el("dt", {}, "Handle"), el("dd", {}, s.handle),
        el("dt", {}, "Your fingerprint"), el("dd", {}, el("code", { class: "fp" }, await fingerprintOf(membership.publicKey))),
        el("dt", {}, "Marks kept on the server"), el("dd", {}, `${s.padTo ?? "the program's quota"} (your interests plus dummies, so the server cannot count them)`),
        el("dt", {}, "Private key"), el("dd", {}, "In this browser only: a key derivations use without reading it, plus a copy encrypted under a second browser-held key, read only for a key backup you ask for"));
};

confirmStep("forget");
$("forget-go").addEventListener("click", (event) => act(event.target, async () => {
    clearInterval(pollTimer);
    clearInterval(directorySyncTimer);
    pollTimer = directorySyncTimer = null;
    await forgetDevice();
    await forgetDirectory();
    membership = null;
    directory = null;
    selected.clear();
    knownMatches = null;
    $("forget-confirm").hidden = true;
    $("nav").hidden = true;
    $("match-count").hidden = true;
    await showScreen("welcome");
    say("This browser has forgotten your membership.");
}));

// --- key backup (backup.js, Specs/backup.md) --------------------------------------------------------------

$("export-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act(form.querySelector("button"), async () => {
        const passphrase = $("export-pass").value;
        if (passphrase !== $("export-pass2").value) throw new ClientError("passphrase-mismatch", "The two passphrases differ");
        const payload = await membership.backupPayload();
        let text;
        try {
            text = await exportBackup(payload, passphrase);
        } finally {
            payload.privateKey.fill(0);
        }
        const url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
        const link = el("a", { href: url, download: `${membership.state.program}-${membership.state.handle}.reciprocity-backup` });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        form.reset();
        say("Your key backup was downloaded. Keep the file and its passphrase apart.");
    });
});

for (const form of document.querySelectorAll(".restore-form")) {
    form.addEventListener("submit", (event) => {
        event.preventDefault();
        act(form.querySelector("button"), async () => {
            const file = form.querySelector("input[type=file]").files[0];
            if (!file) throw new ClientError("missing", "Choose the backup file first");
            const { privateKey, state, iterations } = await importBackup(await file.text(), form.querySelector("input[type=password]").value);
            try {
                let origin;
                try {
                    origin = new URL(state.server).origin;
                } catch {
                    throw new ClientError("corrupt-state", "The backup does not say which server it belongs to");
                }
                if (origin !== location.origin) {
                    throw new ClientError("other-server", `This backup is for the server ${state.server}; open that server's page to restore it`);
                }
                membership = await Membership.restore(privateKey, state);
            } finally {
                privateKey.fill(0);
            }
            form.reset();
            knownMatches = null;
            myProfile = null;
            enterApp();
            await showScreen("matches");
            say(`Restored: you are ${membership.state.handle} in ${membership.state.program} on this browser.` +
                (iterations < MIN_ITERATIONS
                    ? ` Warning: this backup was written with only ${iterations.toLocaleString("en")} passphrase iterations (fewer than ${MIN_ITERATIONS.toLocaleString("en")}), so a stolen copy is easier to guess: make a new backup on the This device screen and delete the old file.`
                    : ""));
        });
    });
}

// --- start -----------------------------------------------------------------------------------------------

/**
 * Removes every service worker registered for this origin: none may stand between this page and the server
 * (the CSP's `worker-src 'none'` stops new ones). One that served this very page still controls it until it
 * closes, so the member is asked to reload.
 */
async function unregisterServiceWorkers() {
    let registrations = [];
    try {
        registrations = (await navigator.serviceWorker?.getRegistrations()) ?? [];
    } catch { /* no list: nothing registered that this page can see */ }
    for (const registration of registrations) await registration.unregister().catch(() => false);
    if (registrations.length && navigator.serviceWorker.controller) {
        showError(new ClientError("service-worker",
            "A service worker was registered for this site and has been removed; it may have changed this page. Close this tab and open the page again"));
    }
}

async function start() {
    // The invite link's fragment (its code) leaves the address bar and this history entry before anything else.
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (location.hash) history.replaceState(null, "", location.pathname);
    if (!window.isSecureContext || !globalThis.crypto?.subtle) {
        $("insecure-origin").textContent = location.origin;
        showScreen("insecure", { focus: false });
        return;
    }
    await unregisterServiceWorkers();
    try {
        membership = await Membership.open();
    } catch (error) {
        showError(error);
    }
    if (membership) {
        if (location.pathname === "/join") {
            history.replaceState(null, "", "/");
            await showScreen("profile", { focus: false });
            showError(new ClientError("already-joined",
                `This browser already holds a membership (${membership.state.handle} in ${membership.state.program}). To use this invite, forget this device first (This device screen)`));
        } else {
            await showScreen("profile", { focus: false });
        }
        enterApp();
        return;
    }
    if (location.pathname === "/join" || fragment.has("invite")) {
        $("join-program").value = fragment.get("program") ?? "";
        $("join-invite").value = fragment.get("invite") ?? "";
        $("join-program-name").textContent = fragment.get("program") ?? "";
        await showScreen("join", { focus: false });
        return;
    }
    await showScreen("welcome", { focus: false });
}

updateNoteCount();
start();
