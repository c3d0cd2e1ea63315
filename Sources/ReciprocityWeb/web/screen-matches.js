// @ts-check
// The Matches screen and the regular poll that keeps it (and the badge) up to date: `pollMatches` is the one
// refresh every screen opens with (navigation.js).

import { $, act, clearMessages, el, say, showError, WANTS, when } from "./ui.js";
import { renderers, session } from "./session.js";
import { fetchConversations, readNew, summaries } from "./conversations.js";

export const POLL_MS = 10_000;

let knownMatches = null;
let lastPollError = null;
let pollTimer = null;
/** token -> {unread, ended}, from the last poll. */
let conversationState = new Map();
let knownUnread = null;

/**
 * The conversation with `token` as the last poll listed it, or undefined.
 * @param {string | null} token
 */
export function conversationInfo(token) {
    return session.conversations.find((c) => c.token === token);
}

/**
 * The line and button of a match's conversation: "Write", with its unread messages.
 * @param {string} handle
 * @param {string} wants
 * @returns {HTMLElement[]}
 */
function conversationLine(handle, wants) {
    const info = session.conversations.find((c) => c.handle === handle && session.membership?.state.marks.some((m) => m.token === c.token && m.wants === wants));
    if (!info) return [];
    const state = conversationState.get(info.token) ?? { unread: 0, ended: false };
    const label = state.ended ? "Read (ended)" : state.unread ? `Write (${state.unread} unread)` : "Write";
    // app.js opens the conversation on a click (this module cannot import the screens: they import it).
    return [el("p", {}, el("button", { type: "button", class: "primary", "data-write": handle, "data-token": info.token }, label))];
}

/**
 * The line under a match's handle: the display name the directory replica holds for it, if any.
 * @param {string} handle
 * @returns {HTMLElement[]}
 */
function displayName(handle) {
    const name = session.directory?.members.get(handle)?.profile.displayName;
    return name ? [el("p", { class: "display-name" }, `Their display name: ${name}`)] : [];
}

function renderMatches(reports) {
    const verified = reports.filter((r) => r.verified);
    const list = $("matches-list");
    list.replaceChildren(...verified.map((r) => el("li", { class: "card" },
        // The heading is the handle, which the match verified; a display name is whatever its owner typed
        // (anyone may copy someone else's), so it comes second, said as theirs.
        el("h2", { class: "handle" }, `@${r.handle}`),
        ...displayName(r.handle),
        el("p", {}, `You wanted them ${WANTS[r.wants] ?? ""}. Matched `, when(r.matchedAt), "."),
        r.noteProblem ? el("p", { class: "warning" }, `Warning: ${r.noteProblem}.`)
            : r.note ? el("div", {}, el("p", { class: "help" }, "Their note:"), el("p", { class: "note" }, r.note))
            : el("p", { class: "help" }, "No note."),
        el("p", {}, "Their key fingerprint: ", el("code", { class: "fp" }, r.fingerprint ?? "")),
        ...conversationLine(r.handle, r.wants))));
    if (!verified.length) list.append(el("li", {}, "No matches yet."));
    // One generic sentence: it names nobody and reads the same for a dummy's token and a real one's.
    const unverified = reports.some((r) => !r.verified);
    $("match-warnings").replaceChildren(...(unverified
        ? [el("p", { class: "warning" }, "Warning: the server reports a match that does not verify here (it may have fabricated it); it is not shown as a match.")]
        : []));
    const badge = $("match-count");
    // The button reads "Matches (1)": the brackets are for screen readers only.
    badge.replaceChildren(el("span", { class: "unseen" }, "("), String(verified.length), el("span", { class: "unseen" }, ")"));
    badge.hidden = verified.length === 0;
    const unread = [...conversationState.values()].reduce((sum, c) => sum + c.unread, 0);
    $("unread-count").replaceChildren(String(unread), el("span", { class: "unseen" }, " unread"));
    $("unread-count").hidden = unread === 0;
}

/**
 * The poll: GET /v1/me, the key log, GET /v1/matches and GET /v1/marks (Membership.matches), then the screen.
 * @param {{quiet?: boolean}} options (optional) `quiet`: the timer's poll, which repeats no error and throws none
 * @returns {Promise<void>}
 */
export async function pollMatches({ quiet = false } = {}) {
    const membership = session.membership;
    if (!membership) return;
    try {
        const reports = await membership.matches();
        // The same requests whatever the screen, then the messages of the conversation shown, if one is.
        const conversations = await fetchConversations(membership);
        session.conversations = conversations;
        const open = session.current === "conversation" ? conversationInfo(session.conversation) : undefined;
        if (open) await readNew(membership, open);
        conversationState = await summaries(conversations);
        renderMatches(reports);
        const unread = conversations.filter((c) => conversationState.get(c.token)?.unread).map((c) => c.handle);
        if (knownUnread && unread.some((h) => !knownUnread.has(h))) {
            say(`New message from ${unread.filter((h) => !knownUnread.has(h)).join(", ")}. See Matches.`, { focus: false });
        }
        knownUnread = new Set(unread);
        if (open && quiet) await renderers.conversation?.();
        const handles = reports.filter((r) => r.verified).map((r) => `${r.handle}/${r.wants}`);
        if (knownMatches) {
            const fresh = handles.filter((h) => !knownMatches.has(h));
            // Added to what the page says already (a mark's own answer, say), not in its place.
            if (fresh.length) {
                const before = $("status").textContent.replace(/\s*New match: [^!]*! See Matches\./g, "");
                say(`${before} New match: ${fresh.map((h) => h.split("/")[0]).join(", ")}! See Matches.`.trim(), { focus: false });
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

/**
 * The regular poll: on a timer that no action of the member's moves (each way into the app shows a screen, which polls).
 * @returns {void}
 */
export function startPolling() {
    if (pollTimer) return;
    pollTimer = setInterval(() => {
        if (document.visibilityState === "visible") pollMatches({ quiet: true });
    }, POLL_MS);
}

/**
 * Stops the poll ("Forget this device").
 * @returns {void}
 */
export function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
}

/**
 * Forgets which matches the page announced already (a membership forgotten or restored).
 * @returns {void}
 */
export function forgetMatches() {
    knownMatches = null;
    knownUnread = null;
    session.conversations = [];
    conversationState = new Map();
}
