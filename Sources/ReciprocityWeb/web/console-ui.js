// @ts-check
// What every console screen shares: the signed-in state, the chosen program, failures in the organizer's words,
// actions, and showing a screen. The members' app has its own (ui.js, sentences.js): its sentences speak to a
// member ("ask your organiser"), these to the organizer.

import { $, busyWhile, el, say } from "./dom.js";

/**
 * The signed-in state, in this tab's memory only.
 * @type {{api: import("./console-api.js").AdminAPI | null, role: string, name: string | null, programs: string[], program: string, current: string}}
 */
export const consoleState = { api: null, role: "", name: null, programs: [], program: "", current: "" };

/** Each screen's renderer, set by console.js: it draws the screen for the chosen program. */
/** @type {Record<string, () => Promise<void>>} */
export const renderers = {};

/** The signed-in API (the screens are shown only when signed in). */
export function api() {
    if (!consoleState.api) throw new Error("not signed in");
    return consoleState.api;
}

const SENTENCES = {
    "unauthorized": "That credential is not accepted here. Check it with the operator of this server, and type it again.",
    "admin-disabled": "The organizer console is off on this server: its operator has not set an admin credential (RECIPROCITY_ADMIN_CREDENTIAL).",
    "operator-only": "Only the server's operator may do that, not an organizer.",
    "program-not-found": "The server has no such program, or it is not one of yours.",
    "program-exists": "A program with that name exists already. Choose another name.",
    "invalid-program": "A program name is 3 to 64 characters of a–z, 0–9, “.”, “_” and “-”, starting with a letter or digit.",
    "member-not-found": "The program has no member by that handle (any more).",
    "invite-not-found": "That invite is gone: it was revoked or used up and cleared away.",
    "organizer-exists": "An organizer with that name exists already. Choose another name.",
    "organizer-not-found": "There is no organizer by that name (any more).",
    "rate-limited": "Too many requests for now. Wait a minute and try again.",
    "unreachable": "The server cannot be reached. Check your connection and try again; nothing was changed.",
    "internal": "The server failed. Try again later.",
    "not-ready": "The server is not ready. Try again in a moment.",
    "http-404": "The server does not know this request: it may be an older version without this part of the console.",
    "not-found": "The server does not know this request: it may be an older version without this part of the console.",
};

/**
 * One sentence for a failure, and its code: ours for the codes above, else the server's own words.
 * @param {any} error
 * @returns {{text: string, code: string}}
 */
export function describe(error) {
    const code = typeof error?.code === "string" ? error.code : "page";
    if (SENTENCES[code]) return { text: SENTENCES[code], code };
    const message = String(error?.message ?? error);
    const text = code === "page" ? `Something went wrong in this page: ${message}. Nothing was sent.` : message;
    return { text: text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : "."), code };
}

/**
 * Shows a failure in the page's error box and moves the focus there.
 * @param {unknown} error
 * @returns {void}
 */
export function showProblem(error) {
    const { text, code } = describe(error);
    const box = $("error");
    box.replaceChildren(el("p", {}, text), el("p", { class: "help" }, `Error code: ${code}`));
    box.hidden = false;
    box.focus();
}

/**
 * Runs `body` with `button` disabled and the page busy; a failure becomes the page's error message.
 * @template T
 * @param {HTMLButtonElement | null} button
 * @param {() => Promise<T>} body
 * @returns {Promise<T | undefined>} undefined when `body` failed (the page says why)
 */
export function act(button, body) {
    return busyWhile(button, body, showProblem);
}

/**
 * Shows screen `name` and draws it for the chosen program.
 * @param {string} name the id after `screen-`
 * @param {{focus?: boolean}} options (optional) `focus: false` leaves the focus where it is
 * @returns {Promise<void>}
 */
export async function showScreen(name, { focus = true } = {}) {
    for (const section of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("main > section"))) {
        section.hidden = section.id !== `screen-${name}`;
    }
    for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#nav button[data-screen]"))) {
        if (button.dataset.screen === name) button.setAttribute("aria-current", "page");
        else button.removeAttribute("aria-current");
    }
    consoleState.current = name;
    document.title = `${$(`screen-${name}`).querySelector("h1").textContent.replace(/\s+/g, " ").trim()} · Reciprocity console`;
    if (focus) $("main").focus();
    if (!(name in renderers)) return;
    if (!["programs", "organizers"].includes(name) && !consoleState.program) {
        say("There is no program yet: create one on the Programs screen first.");
    } else {
        await act(null, renderers[name]);
    }
}

/** Writes the chosen program's name wherever the page names it. */
export function nameProgram() {
    for (const span of document.querySelectorAll(".program-name")) span.textContent = consoleState.program;
}
