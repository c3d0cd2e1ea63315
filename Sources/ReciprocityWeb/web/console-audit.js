// @ts-check
// The Audit log screen: what was done in the program, by whom, newest first, a page at a time.

import { $, el, say, when } from "./dom.js";
import { act, api, consoleState } from "./console-ui.js";

/** The actions in plain words (the server's stable kebab-case names). */
const ACTIONS = {
    "program-created": "Created the program",
    "program-described": "Changed the description or code of conduct",
    "epoch-changed": "Started a new round",
    "round-scheduled": "Scheduled a new round",
    "round-cancelled": "Cancelled a scheduled round",
    "quota-changed": "Changed the marks per member",
    "invite-created": "Made an invite",
    "invite-revoked": "Revoked an invite",
    "member-suspended": "Suspended a member",
    "member-reinstated": "Reinstated a member",
    "organizer-granted": "Gave an organizer this program",
    "organizer-revoked": "Took this program from an organizer",
};

/** The page after the one shown (null: no older entries). */
let next = null;

export async function render() {
    $("audit-list").replaceChildren();
    next = null;
    await more();
}

async function more() {
    const page = await api().audit(consoleState.program, next);
    $("audit-list").append(...page.entries.map((entry) => el("tr", { "data-action": entry.action },
        el("td", { "data-label": "When" }, when(entry.at)),
        el("td", { "data-label": "Who" }, who(entry.actor)),
        el("td", { "data-label": "What" }, ACTIONS[entry.action] ?? entry.action, entry.subject ? el("span", { class: "fp" }, `: ${entry.subject}`) : null),
        el("td", { "data-label": "Detail" }, entry.detail ?? ""))));
    next = page.next;
    const empty = $("audit-list").children.length === 0;
    $("audit-empty").hidden = !empty;
    $("audit-table").hidden = empty;
    $("audit-more").hidden = next === null;
    return page.entries.length;
}

/** @param {string} actor `operator`, `operator (command line)` or `organizer:NAME` */
function who(actor) {
    if (actor.startsWith("organizer:")) return `Organizer ${actor.slice("organizer:".length)}`;
    if (actor === "operator (command line)") return "The operator, on the command line";
    if (actor === "operator") return "The operator";
    return actor;
}

$("audit-more").addEventListener("click", async () => {
    const shown = await act($("audit-more"), more);
    if (shown !== undefined) say(`Showing ${$("audit-list").children.length} entries${next === null ? ", back to the first" : ""}.`);
});
