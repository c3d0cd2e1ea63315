// @ts-check
// The members' web app: the entry that wires the screens (one module each, owning its state) over
// membership.js (the membership) and directory.js (the directory replica). No inline script or style (the CSP
// forbids them); every text from the server or another member is set as text, never as HTML.
//
// ui.js           the shared helpers (el, act, say, showError, ...)
// session.js      the membership, the screen shown, the renderers; why no screen sends anything of its own
// navigation.js   showScreen (the one poll every screen opens with) and enterApp
// screen-*.js     one screen each: join, profile, directory, interests, matches, conversation, keys, device
// conversations.js the conversations kept on this device; events.js the live stream of /v1/events
// program-about.js the About screen: the program's description and code of conduct

import { ClientError, Membership } from "./membership.js";
import { $, clearMessages, showError } from "./ui.js";
import { renderers, session } from "./session.js";
import { enterApp, showScreen } from "./navigation.js";
import "./screen-join.js";
import * as profile from "./screen-profile.js";
import * as directory from "./screen-directory.js";
import * as interests from "./screen-interests.js";
import * as keys from "./screen-keys.js";
import * as device from "./screen-device.js";
import * as about from "./program-about.js";
import * as conversation from "./screen-conversation.js";

renderers.profile = profile.render;
renderers.directory = directory.render;
renderers.interests = interests.render;
renderers.keys = async () => {
    await keys.render();
    await conversation.renderContact();
};
renderers.device = device.render;
renderers.about = about.render;

for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#nav button"))) {
    button.addEventListener("click", () => {
        clearMessages();
        showScreen(button.dataset.screen ?? "");
    });
}

// A match's "Write" button (screen-matches.js draws it): its conversation.
$("matches-list").addEventListener("click", (event) => {
    const button = /** @type {HTMLElement} */ (event.target).closest("[data-write]");
    if (button instanceof HTMLElement && button.dataset.token) {
        clearMessages();
        conversation.openConversation(button.dataset.token);
    }
});

// The backup reminder's button: the This device screen, at its backup form.
$("backup-nudge-go").addEventListener("click", async () => {
    clearMessages();
    await showScreen("device", { focus: false });
    $("export-pass").focus();
});

// --- start -----------------------------------------------------------------------------------------------

/**
 * Removes every service worker registered for this origin: none may stand between this page and the server
 * (the CSP's `worker-src 'none'` stops new ones). One that served this very page still controls it until it
 * closes, so the member is asked to reload.
 */
async function unregisterServiceWorkers() {
    /** @type {readonly ServiceWorkerRegistration[]} */
    let registrations = [];
    try {
        registrations = (await navigator.serviceWorker?.getRegistrations()) ?? [];
    } catch { /* no list: nothing registered that this page can see */ }
    for (const registration of registrations) await registration.unregister().catch(() => false);
    if (registrations.length && navigator.serviceWorker.controller) {
        showError(new ClientError("service-worker",
            "A service worker was registered for this site and has been removed; it may have changed this page. Close this tab and open the page again"));
    }
}

async function start() {
    // The invite link's fragment (its code) leaves the address bar and this history entry before anything else.
    const fragment = new URLSearchParams(location.hash.slice(1));
    if (location.hash) history.replaceState(null, "", location.pathname);
    if (!window.isSecureContext || !globalThis.crypto?.subtle) {
        $("insecure-origin").textContent = location.origin;
        showScreen("insecure", { focus: false });
        return;
    }
    await unregisterServiceWorkers();
    try {
        session.membership = await Membership.open();
    } catch (error) {
        showError(error);
    }
    if (session.membership) {
        if (location.pathname === "/join") {
            history.replaceState(null, "", "/");
            await showScreen("profile", { focus: false });
            showError(new ClientError("already-joined",
                `This browser already holds a membership (${session.membership.state.handle} in ${session.membership.state.program}). To use this invite, forget this device first (This device screen)`));
        } else {
            await showScreen("profile", { focus: false });
        }
        enterApp();
        return;
    }
    if (location.pathname === "/join" || fragment.has("invite")) {
        $("join-program").value = fragment.get("program") ?? "";
        $("join-invite").value = fragment.get("invite") ?? "";
        $("join-program-name").textContent = fragment.get("program") ?? "";
        await showScreen("join", { focus: false });
        return;
    }
    await showScreen("welcome", { focus: false });
}

directory.updateNoteCount();
start();
