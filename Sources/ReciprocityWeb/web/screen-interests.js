// @ts-check
// The My interests screen: this device's real marks, from its records alone, each with a Withdraw button, and
// when the round closes if its organizers scheduled that (from the program the last poll brought).

import { $, act, el, say, WANTS } from "./ui.js";
import { heldMembership, redraw } from "./session.js";

/**
 * The sentence for a round its organizers scheduled to close at `at` (the program's `nextRoundAt`, RFC 3339, in
 * the last poll's GET /v1/me or the join answer), in this browser's locale and time zone; "" when none is
 * scheduled or the time does not read as one.
 * @param {string | undefined} at
 * @returns {string}
 */
export function roundCloses(at) {
    const date = at ? new Date(at) : null;
    if (!date || Number.isNaN(date.getTime())) return "";
    const year = date.getFullYear() === new Date().getFullYear() ? undefined : "numeric";
    const when = new Intl.DateTimeFormat(undefined,
        { weekday: "short", day: "numeric", month: "short", year, hour: "2-digit", minute: "2-digit" }).format(date);
    return `This round closes on ${when} (your time). Your interests are then sent again for the new round when you next open the app; matches stay.`;
}

/**
 * Draws My interests from this device's records and the last poll's program (no request).
 * @returns {void}
 */
export function render() {
    const membership = heldMembership();
    const marks = membership.interests;
    const box = $("interests-list");
    const closes = roundCloses(membership.lastMe?.program?.nextRoundAt);
    $("interests-round").hidden = !closes;
    $("interests-round").textContent = closes;
    $("interests-pad").textContent = `${membership.state.padTo ?? "the program's quota"} marks`;
    if (!marks.length) {
        box.replaceChildren(el("p", {}, "You have not marked anyone yet. Find people in the Directory."));
        return;
    }
    const rows = marks.map((mark) => {
        let state = mark.matchedAt ? "Matched" : "Pending";
        if (!mark.matchedAt && (mark.waitingForTrust || membership.keyChanged(mark))) state = "Waiting: their key changed; check it with them and trust it on the Security screen";
        const withdraw = mark.matchedAt ? "—" : el("button", { type: "button" }, `Withdraw ${mark.handle}`);
        if (withdraw instanceof HTMLElement) {
            withdraw.addEventListener("click", () => act(withdraw, async () => {
                await heldMembership().removeInterest(mark.handle, mark.wants);
                redraw();
                say(`Withdrew your interest in ${mark.handle}.`);
            }));
        }
        return el("tr", {}, el("td", {}, mark.handle), el("td", {}, WANTS[mark.wants] ?? mark.wants),
            el("td", {}, state), el("td", {}, mark.note ? el("span", { class: "note" }, mark.note) : "—"), el("td", {}, withdraw));
    });
    box.replaceChildren(el("table", {},
        el("caption", { class: "help" }, `${marks.length} ${marks.length > 1 ? "people" : "person"} marked`),
        el("thead", {}, el("tr", {}, ["Person", "You want them", "State", "Your note", "Action"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows)));
}
