// @ts-check
// The Directory screen: the directory replica (directory.js) searched and ranked in this page, the selection,
// and marking the people selected. Searching, paging and the replica's sync never depend on the member's marks.

import { DirectoryReplica } from "./directory.js";
import { ClientError, NOTE_MAX_BYTES } from "./membership.js";
import { $, act, clearMessages, el, say, showError, WANTS } from "./ui.js";
import { heldMembership, redraw, session } from "./session.js";
import { POLL_MS } from "./screen-matches.js";
import { lastProfile } from "./screen-profile.js";

const DIRECTORY_SYNC_MS = 180_000;

const selected = new Set();
let query = {};
let page = 0;
let directorySyncTimer = null;

function card(member, prefix, shared = []) {
    const p = member.profile;
    const id = `${prefix}-${member.handle}`;
    const box = el("input", { type: "checkbox", id, "data-handle": member.handle, checked: selected.has(member.handle) });
    box.addEventListener("change", () => {
        if (box.checked) selected.add(member.handle);
        else selected.delete(member.handle);
        syncSelection();
    });
    const membership = session.membership;
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
        mine.map((m) => el("p", { class: "marked" }, `✓ You marked them ${WANTS[m.wants]} (${m.matchedAt ? "matched" : "pending"}; only you can see this)`)),
        self ? el("p", { class: "help" }, "This is you")
            : el("div", { class: "check" }, box, el("label", { for: id }, selectLabel(p.displayName, prefix, mine.length > 0))));
}

/**
 * The label of a card's Select box: it names the person, says when the card is a suggestion (the same person
 * may show in the list below too, and both boxes select them), and says what marking someone again does.
 */
function selectLabel(name, prefix, marked) {
    const suggested = prefix === "dir" ? "" : " (suggested)";
    return marked ? `Select ${name}${suggested} to mark again (the same kind of mark replaces your note)` : `Select ${name}${suggested}`;
}

function syncSelection() {
    const boxes = /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll("input[data-handle]"));
    for (const box of boxes) box.checked = selected.has(box.dataset.handle);
    const n = selected.size;
    $("mark-selected").textContent = n ? `Selected (${n}): ${[...selected].join(", ")}` : "Nobody selected yet.";
    $("mark-submit").disabled = n === 0;
    $("mark-submit").textContent = n > 1 ? `Mark ${n} people privately` : "Mark privately";
    // The bar at the bottom of the screen: the selection and the way to the mark panel, wherever the member is.
    $("selection-bar").hidden = n === 0 || session.current !== "directory";
    $("selection-count").textContent = `${n} selected: ${[...selected].join(", ")}`;
    $("selection-go").textContent = n > 1 ? `Mark these ${n}…` : "Mark…";
}

$("selection-go").addEventListener("click", () => {
    $("mark-form").focus(); // scrolls the panel into view
});

const PAGE_SIZE = 20;

/** One page of the local search (directory.js): no request, whatever is searched. */
function renderDirectoryPage() {
    const found = session.directory ? session.directory.search(query) : [];
    const last = Math.max(0, Math.ceil(found.length / PAGE_SIZE) - 1);
    page = Math.min(page, last);
    const shown = found.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const list = $("directory-list");
    list.replaceChildren(...shown.map((m) => card(m, "dir")));
    if (!session.directory?.synced) list.append(el("li", {}, "Loading the directory…"));
    else if (!shown.length) list.append(el("li", {}, "Nobody matches this search."));
    $("directory-count").textContent = session.directory?.synced
        ? `${found.length} member${found.length === 1 ? "" : "s"}${found.length > PAGE_SIZE ? `, page ${page + 1} of ${last + 1}` : ""}`
        : "";
    $("page-next").disabled = page >= last;
    $("page-prev").disabled = page === 0;
}

/** Members ranked by the tags they share with mine, from the local directory (public profile data only). */
function suggestionGroups() {
    const membership = heldMembership();
    const mine = membership.lastMe?.member.profile ?? lastProfile();
    const replica = session.directory;
    if (!replica || !mine) return [];
    const rank = (filter) => replica.ranked(mine.tags, membership.state.handle, filter);
    /** @type {[string, string, {member: any, shared: string[]}[]][]} */
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

/**
 * Draws the Directory screen from the local replica (no request).
 * @returns {void}
 */
export function render() {
    renderDirectoryPage();
    renderSuggestions();
    syncSelection();
}

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
    if (!session.membership) return;
    const owner = session.membership;
    try {
        let replica = session.directory;
        if (!replica || replica.program !== owner.state.program) replica = session.directory = await DirectoryReplica.open(owner.state.program);
        const first = !replica.synced;
        const changed = await replica.sync(owner.api);
        if (session.membership === owner && session.current === "directory" && (first || changed)) {
            renderDirectoryPage();
            if (first) renderSuggestions();
            syncSelection();
        }
    } catch (error) {
        if (session.membership === owner) showError(error, { focus: false });
    }
}

/**
 * Syncs once now (a way into the app: start, join, restore), then on the timer.
 * @returns {void}
 */
export function startDirectorySync() {
    syncDirectory();
    if (directorySyncTimer) return;
    directorySyncTimer = setInterval(() => {
        if (document.visibilityState === "visible") syncDirectory();
    }, DIRECTORY_SYNC_MS);
}

/**
 * Stops the sync ("Forget this device").
 * @returns {void}
 */
export function stopDirectorySync() {
    clearInterval(directorySyncTimer);
    directorySyncTimer = null;
}

/**
 * Forgets the replica in memory and the selection (a membership forgotten).
 * @returns {void}
 */
export function forgetDirectoryState() {
    session.directory = null;
    selected.clear();
}

const encoder = new TextEncoder();
/**
 * Says how many of the note's bytes are used.
 * @returns {void}
 */
export function updateNoteCount() {
    const bytes = encoder.encode($("mark-note").value).length;
    const count = $("note-count");
    count.textContent = bytes > NOTE_MAX_BYTES
        ? `${bytes} of ${NOTE_MAX_BYTES} bytes: ${bytes - NOTE_MAX_BYTES} too many`
        : `${bytes} of ${NOTE_MAX_BYTES} bytes`;
    count.classList.toggle("over", bytes > NOTE_MAX_BYTES);
    $("mark-note").setAttribute("aria-invalid", String(bytes > NOTE_MAX_BYTES));
}
$("mark-note").addEventListener("input", updateNoteCount);

$("mark-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act($("mark-submit"), async () => {
        const handles = [...selected];
        const wants = String(new FormData(event.target).get("wants") ?? ""); // none chosen: addInterest says so
        const note = $("mark-note").value;
        if (!handles.length) throw new ClientError("missing", "Select at least one person first");
        const results = await heldMembership().addInterest(handles, wants, { note });
        selected.clear();
        $("mark-note").value = "";
        updateNoteCount();
        await redraw(); // the cards say whom you marked: from this device's records, no request
        const matched = results.filter((r) => r.state === "matched").map((r) => r.handle);
        // No request follows, whatever the answer (see "screens"): the next poll verifies a match.
        say(`Marked privately: ${handles.join(", ")} ${WANTS[wants]}. ` + (matched.length
            ? `The server reports a match with ${matched.join(", ")}: it shows under Matches once verified here, within ${POLL_MS / 1000} seconds.`
            : "Nobody is told unless they mark you too."));
    }).finally(() => syncSelection());
});
