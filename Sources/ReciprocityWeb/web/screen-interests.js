// @ts-check
// The My interests screen: this device's real marks, from its records alone, each with a Withdraw button.

import { $, act, el, say, WANTS } from "./ui.js";
import { heldMembership, redraw } from "./session.js";

/**
 * Draws My interests from this device's records (no request).
 * @returns {void}
 */
export function render() {
    const membership = heldMembership();
    const marks = membership.interests;
    const box = $("interests-list");
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
