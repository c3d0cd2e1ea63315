// @ts-check
// The This device screen: what this browser holds, key backups (backup.js, Specs/backup.md; the welcome screen's
// restore form too) and forgetting the device.

import { exportBackup, importBackup, MIN_ITERATIONS } from "./backup.js";
import { forgetDirectory } from "./directory.js";
import { ClientError, fingerprintOf, forgetDevice, Membership } from "./membership.js";
import { $, act, confirmStep, el, say } from "./ui.js";
import { heldMembership, session } from "./session.js";
import { enterApp, showScreen } from "./navigation.js";
import { forgetDirectoryState, stopDirectorySync } from "./screen-directory.js";
import { forgetMatches, stopPolling } from "./screen-matches.js";
import { stopEvents } from "./events.js";
import { forgetProfile } from "./screen-profile.js";
import { backedUp, forgetBackupRecord, rememberBackup } from "./backup-nudge.js";

/**
 * Draws what this browser holds (no request).
 * @returns {Promise<void>}
 */
export async function render() {
    const membership = heldMembership();
    const s = membership.state;
    $("device-facts").replaceChildren(
        el("dt", {}, "Server"), el("dd", {}, s.server),
        el("dt", {}, "Program"), el("dd", {}, s.program),
        el("dt", {}, "Handle"), el("dd", {}, s.handle),
        el("dt", {}, "Your key"), el("dd", {}, "Kept in this browser only. Nothing can copy it out, except a backup you ask for below."));
    $("device-details").replaceChildren(
        el("dt", {}, "Your fingerprint"), el("dd", {}, el("code", { class: "fp" }, await fingerprintOf(membership.publicKey))),
        el("dt", {}, "Marks kept on the server"), el("dd", {}, `${s.padTo ?? "the program's quota"} (your interests plus dummies, so the server cannot count them)`),
        el("dt", {}, "Private key"), el("dd", {}, "A non-extractable WebCrypto key that key derivations use without reading it, plus a copy encrypted under a second browser-held key, read only for a key backup you ask for"));
    $("export-account").value = `${s.handle} (${s.program})`;
    $("backup-state").textContent = backedUp(membership)
        ? "A backup of your current key was made or restored in this browser."
        : "No backup of your current key has been made in this browser yet.";
}

confirmStep("forget");
$("forget-go").addEventListener("click", (event) => act(event.target, async () => {
    stopPolling();
    stopEvents();
    stopDirectorySync();
    // First, so that a failure below cannot leave the record of this key's backup behind.
    forgetBackupRecord();
    await forgetDevice();
    await forgetDirectory();
    session.membership = null;
    forgetDirectoryState();
    forgetMatches();
    $("forget-confirm").hidden = true;
    $("nav").hidden = true;
    $("match-count").hidden = true;
    await showScreen("welcome");
    say("This browser has forgotten your membership.");
}));

// --- key backup (backup.js, Specs/backup.md) --------------------------------------------------------------

$("export-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act(form.querySelector("button"), async () => {
        const passphrase = $("export-pass").value;
        if (passphrase !== $("export-pass2").value) throw new ClientError("passphrase-mismatch", "The two passphrases differ");
        const membership = heldMembership();
        const payload = await membership.backupPayload();
        let text;
        try {
            text = await exportBackup(payload, passphrase);
        } finally {
            payload.privateKey.fill(0);
        }
        const url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
        const link = el("a", { href: url, download: `${membership.state.program}-${membership.state.handle}.reciprocity-backup` });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        form.reset();
        rememberBackup(membership);
        await render();
        say("Your key backup was downloaded. Keep the file and its passphrase apart.");
    });
});

for (const form of /** @type {NodeListOf<HTMLFormElement>} */ (document.querySelectorAll(".restore-form"))) {
    form.addEventListener("submit", (event) => {
        event.preventDefault();
        act(form.querySelector("button"), async () => {
            const file = /** @type {HTMLInputElement} */ (form.querySelector("input[type=file]")).files?.[0];
            if (!file) throw new ClientError("missing", "Choose the backup file first");
            const { privateKey, state, iterations } = await importBackup(file, /** @type {HTMLInputElement} */ (form.querySelector("input[type=password]")).value);
            try {
                let origin;
                try {
                    origin = new URL(state.server).origin;
                } catch {
                    throw new ClientError("corrupt-state", "The backup does not say which server it belongs to");
                }
                if (origin !== location.origin) {
                    throw new ClientError("other-server", `This backup is for the server ${state.server}; open that server's page to restore it`);
                }
                // What stays on one device (a CLI's state.json holds them, its backups leave them out): a
                // conversation's ratchet state on two devices would seal two messages with one key.
                delete state.conversations;
                delete state.contact;
                session.membership = await Membership.restore(privateKey, state);
            } finally {
                privateKey.fill(0);
            }
            form.reset();
            rememberBackup(session.membership);
            forgetMatches();
            forgetProfile();
            enterApp();
            await showScreen("matches");
            say(`Restored: you are ${session.membership.state.handle} in ${session.membership.state.program} on this browser.` +
                " Conversations are not in a backup: messages sent to your other device cannot be shown here, and replies to them will not arrive here." +
                (iterations < MIN_ITERATIONS
                    ? ` Warning: this backup was written with only ${iterations.toLocaleString("en")} passphrase iterations (fewer than ${MIN_ITERATIONS.toLocaleString("en")}), so a stolen copy is easier to guess: make a new backup on the This device screen and delete the old file.`
                    : ""));
        });
    });
}
