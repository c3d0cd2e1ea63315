// @ts-check
// The Keys screen: this member's fingerprint and verified tree head, changed keys to trust, someone's
// fingerprint, a head someone else saw, and replacing the key.

import { capitalise, describe } from "./sentences.js";
import { $, act, confirmStep, el, say } from "./ui.js";
import { heldMembership, redraw } from "./session.js";

/**
 * Draws the Keys screen from this device's state and verified replica (no request).
 * @returns {Promise<void>}
 */
export async function render() {
    const membership = heldMembership();
    $("my-fingerprint").textContent = await membership.fingerprint(null);
    $("my-tree-head").value = membership.state.treeHead ?? ""; // verified by the poll that showed this screen
    const changed = await membership.changedKeys();
    const box = $("changed-keys");
    if (!changed.length) {
        box.replaceChildren(el("p", {}, "Nobody's key has changed."));
        return;
    }
    box.replaceChildren(...changed.map((c) => {
        const trust = el("button", { type: "button" }, `I checked it with ${c.handle}: trust the new key`);
        trust.addEventListener("click", () => act(trust, async () => {
            const fp = await heldMembership().trust(c.handle);
            await redraw();
            say(`You now trust ${c.handle}'s new key (${fp}); your pending interest in them was derived again.`);
        }));
        return el("div", { class: "warning" },
            el("p", {}, `${c.handle}'s key changed: they may have a new phone or browser, or someone may be pretending to be them. Until you trust the new key you cannot mark them, and your marks on them wait.`),
            el("p", {}, `Ask ${c.handle} another way (in person, by phone) to read you the code on their Security screen. Trust the new key only if it is this one:`),
            el("p", {}, "Their code now: ", el("code", { class: "fp" }, c.live)),
            el("p", { class: "help" }, "The code you had before: ", el("code", { class: "fp" }, c.pinned)),
            trust);
    }));
}

$("fingerprint-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const handle = String(new FormData(event.target).get("handle")).trim();
    act(event.target.querySelector("button"), async () => {
        $("fingerprint-result").textContent = "";
        const fp = await heldMembership().fingerprint(handle);
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
            const head = await heldMembership().checkGossipedHead(line);
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

confirmStep("rotate");
$("rotate-go").addEventListener("click", (event) => act(event.target, async () => {
    const fp = await heldMembership().rotateKey();
    $("rotate-confirm").hidden = true;
    await redraw();
    say(`Your key was replaced. New fingerprint: ${fp}.`);
}));
