// @ts-check
// Showing a screen: every screen opens with the same single poll (screen-matches.js), then draws from this
// device's state (session.js says why); and the way into the app once a membership is here.

import { $, act } from "./ui.js";
import { renderers, session } from "./session.js";
import { drawBackupNudge } from "./backup-nudge.js";
import { pollMatches, startPolling } from "./screen-matches.js";
import { startDirectorySync } from "./screen-directory.js";
import { startEvents } from "./events.js";

/**
 * Shows screen `name`; with a membership, runs the one poll and then its renderer.
 * @param {string} name the id after `screen-`
 * @param {{focus?: boolean}} options (optional) `focus: false` leaves the focus where it is
 * @returns {Promise<void> | undefined}
 */
export function showScreen(name, { focus = true } = {}) {
    const sections = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll("main > section"));
    for (const section of sections) section.hidden = section.id !== `screen-${name}`;
    for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#nav button"))) {
        if (button.dataset.screen === name) button.setAttribute("aria-current", "page");
        else button.removeAttribute("aria-current");
    }
    session.current = name;
    $("selection-bar").hidden = true; // the directory's own bar: its renderer shows it again there
    document.title = `${$(`screen-${name}`).querySelector("h1").textContent} · Reciprocity`;
    if (focus) $("main").focus();
    drawBackupNudge(session.membership, name);
    if (!session.membership) return undefined;
    return act(null, async () => {
        try {
            await pollMatches();
        } catch {
            // Shown by pollMatches; the screen still shows what this device knows.
        }
        await renderers[name]?.();
    });
}

/**
 * The way into the app (start, join, restore): the menu, the poll's timer and the directory's sync.
 * @returns {void}
 */
export function enterApp() {
    $("nav").hidden = false;
    startPolling();
    startEvents();
    startDirectorySync();
}
