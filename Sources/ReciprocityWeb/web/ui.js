// @ts-check
// The helpers every screen of the members' app shares: dom.js's (elements, the status line, times, a step that
// asks first) and the error box in the members' words, and actions. No state of their own beyond the page's; no
// request.

import { describe } from "./sentences.js";
import { $, busyWhile, el } from "./dom.js";

export { $, clearMessages, confirmStep, el, say, when } from "./dom.js";

/** What each kind of interest reads as, after "You marked them" or "You wanted them". */
export const WANTS = { mentor: "as your mentor", mentee: "as your mentee", peer: "as a peer" };

/**
 * Shows `error` in the page's error box (its sentence from sentences.js and its code).
 * @param {unknown} error
 * @param {{focus?: boolean}} options (optional) `focus: false` for a background poll
 * @returns {void}
 */
export function showError(error, { focus = true } = {}) {
    const box = $("error");
    const { text, code } = describe(error);
    box.replaceChildren(el("p", {}, text), el("p", { class: "help" }, `Error code: ${code}`));
    box.hidden = false;
    if (focus) box.focus(); // a background poll announces (role=alert) without moving the focus
}

/**
 * Runs `body` with `button` disabled; a failure becomes the page's error message.
 * @template T
 * @param {HTMLButtonElement | null} button
 * @param {() => Promise<T>} body
 * @returns {Promise<T | undefined>} undefined when `body` failed (the page says why)
 */
export function act(button, body) {
    return busyWhile(button, body, showError);
}
