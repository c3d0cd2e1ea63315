// @ts-check
// The organizer console (/console): the entry that signs in and wires the screens, one module each.
//
// console-api.js      /v1/admin
// console-ui.js       the signed-in state, sentences, actions, showing a screen
// console-programs.js programs: list, create, description and code of conduct, new round
// console-invites.js  invites: make a link (and its QR code, qr.js), list, revoke
// console-members.js  members: find, suspend, reinstate
// console-health.js   the program's health figures, as charts (console-charts.js) and tables
// console-reports.js  members' reports of one another, with the messages they included; suspend from one
// console-audit.js    the program's audit log
// console-organizers.js the operator's: organizers and their programs
//
// The credential is kept in memory only (consoleState.api), not in sessionStorage: it may be the operator's
// credential, which can do anything on the server, and a browser may write a tab's session storage to disk to
// restore the tab later. The price is typing it again after a reload, which a password manager makes light. It
// is never in localStorage, a cookie or an address. No inline script or style (the CSP forbids them); every
// text from the server is set as text, never as HTML.

import { $, clearMessages, say } from "./dom.js";
import { AdminAPI } from "./console-api.js";
import { ClientError } from "./server-api.js";
import { act, consoleState, nameProgram, renderers, showScreen } from "./console-ui.js";
import * as programs from "./console-programs.js";
import * as invites from "./console-invites.js";
import * as members from "./console-members.js";
import * as health from "./console-health.js";
import * as reports from "./console-reports.js";
import * as audit from "./console-audit.js";
import * as organizers from "./console-organizers.js";

renderers.programs = programs.render;
renderers.invites = invites.render;
renderers.members = members.render;
renderers.health = health.render;
renderers.reports = reports.render;
renderers.audit = audit.render;
renderers.organizers = organizers.render;

$("signin-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($("signin-credential"));
    const credential = input.value.trim();
    const button = /** @type {HTMLButtonElement} */ (event.submitter);
    await act(button, async () => {
        if (!credential) throw new ClientError("credential-missing", "type your credential first");
        const candidate = new AdminAPI(credential);
        const session = await candidate.session();
        consoleState.api = candidate;
        input.value = "";
        await signedIn(session);
    });
});

/**
 * Shows the console for a credential the server accepted.
 * @param {{role: string, name: string | null, programs: string[]}} session
 */
async function signedIn(session) {
    Object.assign(consoleState, { role: session.role, name: session.name, programs: session.programs });
    $("signed-in-as").textContent = session.role === "operator"
        ? "Signed in as the operator: every program."
        : `Signed in as organizer ${session.name}.`;
    fillPrograms(session.programs[0] ?? "");
    $("nav").hidden = false;
    $("program-bar").hidden = false;
    $("create-program").hidden = session.role !== "operator";
    $("nav-organizers").hidden = session.role !== "operator";
    await showScreen("programs", { focus: false });
    say(session.role === "operator" ? "Signed in as the operator." : `Signed in as organizer ${session.name}.`);
}

/**
 * Fills the program chooser from consoleState.programs and chooses `chosen`.
 * @param {string} chosen
 */
export function fillPrograms(chosen) {
    const select = /** @type {HTMLSelectElement} */ ($("program-choice"));
    select.replaceChildren(...consoleState.programs.map((name) => new Option(name, name, false, name === chosen)));
    consoleState.program = consoleState.programs.includes(chosen) ? chosen : "";
    select.disabled = consoleState.programs.length === 0;
    nameProgram();
}
programs.onCreated((name) => fillPrograms(name));

$("program-choice").addEventListener("change", async () => {
    consoleState.program = $("program-choice").value;
    nameProgram();
    clearMessages();
    await showScreen(consoleState.current, { focus: false });
    say(`Now working on ${consoleState.program}.`);
});

for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#nav button[data-screen]"))) {
    button.addEventListener("click", () => {
        clearMessages();
        showScreen(button.dataset.screen ?? "");
    });
}

$("sign-out").addEventListener("click", () => signOut("Signed out. The credential is gone from this page."));

/** @param {string} message */
function signOut(message) {
    Object.assign(consoleState, { api: null, role: "", name: null, programs: [], program: "" });
    $("nav").hidden = true;
    $("program-bar").hidden = true;
    clearMessages();
    showScreen("signin", { focus: false });
    say(message);
}

if (!window.isSecureContext) {
    // The credential would cross the network in the clear.
    $("signin-help").textContent = "This page was opened over plain http: a credential typed here would cross the network unencrypted. Open the server's https address instead.";
    $("signin-form").querySelector("button").disabled = true;
}
showScreen("signin", { focus: false });
