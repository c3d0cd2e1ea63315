// @ts-check
// The page helpers both pages share, the members' app (ui.js re-exports them) and the organizers' console:
// elements, the error box and status line, times, and a step that asks first. Only the DOM; no request, no
// sentence of the app's own, so the console loads none of the members' modules.

/**
 * The element with this id (typed `any`: each caller knows its kind).
 * @type {(id: string) => any}
 */
export const $ = (id) => document.getElementById(id);

/**
 * An element with attributes and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attributes] false, null and undefined leave one out; true sets it empty
 * @param {...(Node | string | null | undefined | false | (Node | string | null | undefined | false)[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
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

/**
 * Empties the error box and the status line.
 * @returns {void}
 */
export function clearMessages() {
    $("error").hidden = true;
    $("error").replaceChildren();
    $("status").textContent = "";
}

/**
 * Sets the status line: an action's outcome. The line sits in the dock at the bottom of the screen (sticky), so it
 * shows wherever the reader is on a long page, and takes the focus (a screen reader reads it; the reader sees it).
 * @param {string} text
 * @param {{focus?: boolean}} options (optional) `focus: false` for what a background poll found
 * @returns {void}
 */
export function say(text, { focus = true } = {}) {
    const status = $("status");
    status.textContent = text;
    if (focus && text) status.focus();
}

// The status line's Close button: the line goes, and the focus returns to the screen without scrolling it.
$("status-close").addEventListener("click", () => {
    $("status").textContent = "";
    $("main").focus({ preventScroll: true });
});

const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const DAY_MS = 86_400_000;

/**
 * A time for a person to read: "5 minutes ago", "yesterday", or a date in their own time zone a week on, with
 * the full local date and time as its title.
 * @param {string} iso an ISO 8601 time
 * @returns {HTMLTimeElement}
 */
export function when(iso) {
    const date = new Date(iso);
    const ago = Date.now() - date.getTime();
    const full = date.toLocaleString("en", { dateStyle: "long", timeStyle: "short" });
    let text;
    if (Number.isNaN(ago)) text = iso;
    else if (ago < 60_000) text = "just now";
    else if (ago < 3_600_000) text = RELATIVE.format(-Math.floor(ago / 60_000), "minute");
    else if (ago < DAY_MS) text = RELATIVE.format(-Math.floor(ago / 3_600_000), "hour");
    else if (ago < 7 * DAY_MS) text = RELATIVE.format(-Math.floor(ago / DAY_MS), "day");
    else text = `on ${date.toLocaleDateString("en", { dateStyle: "long" })}`;
    return el("time", { datetime: iso, title: full }, text);
}

// A step that asks first: "NAME-start" shows "NAME-confirm" and moves to "NAME-go"; "NAME-cancel" hides it again.
/**
 * @param {string} name
 * @returns {void}
 */
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

/**
 * Runs `body` with `button` disabled and the page busy, after clearing the last outcome; a failure goes to
 * `showFailure` (each page words its own errors). The members' app and the console both act through this.
 * @template T
 * @param {HTMLButtonElement | null} button
 * @param {() => Promise<T>} body
 * @param {(error: unknown) => void} showFailure
 * @returns {Promise<T | undefined>} undefined when `body` failed
 */
export async function busyWhile(button, body, showFailure) {
    clearMessages();
    if (button) button.disabled = true;
    document.body.setAttribute("aria-busy", "true");
    try {
        return await body();
    } catch (error) {
        showFailure(error);
        return undefined;
    } finally {
        document.body.removeAttribute("aria-busy");
        if (button) button.disabled = false;
    }
}
