// @ts-check
// The backup reminder: the member's key lives only in this browser, so until a backup of the current key exists
// (made or restored here), every screen but This device offers one and says why. What this browser remembers is
// the key the last backup held (localStorage, never sent anywhere); a key replaced since needs a new backup.

import { $ } from "./ui.js";

const STORAGE = "reciprocity-backup";

/** @param {import("./membership.js").Membership} membership */
const keyOf = (membership) => `${membership.state.server} ${membership.state.program} ${membership.state.handle} ${membership.publicKey}`;

/**
 * True when a backup of this membership's current key was made or restored in this browser.
 * @param {import("./membership.js").Membership} membership
 * @returns {boolean}
 */
export function backedUp(membership) {
    return localStorage.getItem(STORAGE) === keyOf(membership);
}

/**
 * Remembers that a backup of this membership's current key exists (made, or restored from).
 * @param {import("./membership.js").Membership} membership
 * @returns {void}
 */
export function rememberBackup(membership) {
    localStorage.setItem(STORAGE, keyOf(membership));
}

/**
 * Forgets the record ("Forget this device").
 * @returns {void}
 */
export function forgetBackupRecord() {
    localStorage.removeItem(STORAGE);
}

/**
 * Shows the reminder on screen `name` when the membership has no backup of its current key (no request).
 * @param {import("./membership.js").Membership | null} membership
 * @param {string} name
 * @returns {void}
 */
export function drawBackupNudge(membership, name) {
    $("backup-nudge").hidden = !membership || name === "device" || backedUp(membership);
}
