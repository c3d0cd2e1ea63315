// The helpers every screen of the web app shares: elements, the page's error and status lines, actions, and a
// step that asks first. No state of their own beyond the page's; no request.

import { describe } from "./sentences.js";

export const $ = (id) => document.getElementById(id);

/** What each kind of interest reads as, after "You marked them" or "You wanted them". */
export const WANTS = { mentor: "as your mentor", mentee: "as your mentee", peer: "as a peer" };

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
        if (value === false || value === undefined || value === null) continue;
        if (name === "class") node.className = value;
        else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
    return node;
}

export function showError(error, { focus = true } = {}) {
    const box = $("error");
    const { text, code } = describe(error);
    box.replaceChildren(el("p", {}, text), el("p", { class: "help" }, `Error code: ${code}`));
    box.hidden = false;
    if (focus) box.focus(); // a background poll announces (role=alert) without moving the focus
}

export function clearMessages() {
    $("error").hidden = true;
    $("error").replaceChildren();
    $("status").textContent = "";
}

export function say(text) {
    $("status").textContent = text;
}

/** Runs `body` with `button` disabled; a failure becomes the page's error message. */
export async function act(button, body) {
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

// A step that asks first: "NAME-start" shows "NAME-confirm" and moves to "NAME-go"; "NAME-cancel" hides it again.
export function confirmStep(name) {
    $(`${name}-start`).addEventListener("click", () => {
        $(`${name}-confirm`).hidden = false;
        $(`${name}-go`).focus();
    });
    $(`${name}-cancel`).addEventListener("click", () => {
        $(`${name}-confirm`).hidden = true;
        $(`${name}-start`).focus();
    });
}
