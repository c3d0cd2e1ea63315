// @ts-check
// The Invites screen: make an invite link (with its QR code), list the program's invites, revoke one. The code
// is shown once, right after it is made: the server keeps only its SHA-256, so the list cannot show it again; it
// shows the invite's id instead, which the audit log names too.

import { $, el, say, when } from "./dom.js";
import { ClientError } from "./server-api.js";
import { act, api, consoleState } from "./console-ui.js";
import { encodeQR, qrSVG } from "./qr.js";

/** The invite the revoke step is asking about. */
let revoking = { id: "", label: "" };

export async function render() {
    $("invite-made").hidden = true;
    $("revoke-confirm").hidden = true;
    await drawList();
}

async function drawList() {
    let invites;
    try {
        invites = await api().invites(consoleState.program);
    } catch (error) {
        if (!(error instanceof ClientError) || !["not-found", "http-404", "method-not-allowed"].includes(error.code)) throw error;
        $("invite-list").replaceChildren();
        $("invite-table").hidden = true;
        $("invite-list-empty").textContent = "This server does not list invites (it is older than the console).";
        $("invite-list-empty").hidden = false;
        return;
    }
    $("invite-list-empty").textContent = "No invites yet.";
    $("invite-list-empty").hidden = invites.length > 0;
    $("invite-table").hidden = invites.length === 0;
    $("invite-list").replaceChildren(...invites.map((invite) => {
        const state = inviteState(invite);
        const label = `the invite made ${when(invite.createdAt).textContent}`;
        const revoke = state === "Works"
            ? el("button", { type: "button", class: "danger", "data-invite": invite.id, "aria-label": `Revoke ${label}` }, "Revoke…")
            : null;
        revoke?.addEventListener("click", () => askRevoke(invite.id, label));
        return el("tr", {},
            el("td", { "data-label": "Invite", class: "fp" }, invite.id),
            el("td", { "data-label": "Made" }, when(invite.createdAt)),
            el("td", { "data-label": "Uses left" }, String(invite.usesLeft)),
            el("td", { "data-label": "Stops working" }, invite.expiresAt ? until(invite.expiresAt) : "never"),
            el("td", { "data-label": "State" }, state),
            el("td", {}, revoke));
    }));
}

/** @param {{usesLeft: number, expiresAt: string | null, revokedAt: string | null}} invite */
function inviteState(invite) {
    if (invite.revokedAt) return "Revoked";
    if (invite.usesLeft <= 0) return "Used up";
    if (invite.expiresAt && new Date(invite.expiresAt).getTime() <= Date.now()) return "Expired";
    return "Works";
}

/**
 * A time still to come as "in 7 days" ("within a day" when closer); one past as `when` says it.
 * @param {string} iso
 */
function fromNow(iso) {
    const days = Math.round((new Date(iso).getTime() - Date.now()) / 86_400_000);
    return days >= 1 ? `in ${days} day${days === 1 ? "" : "s"}` : "within a day";
}

/**
 * When an invite stops working, as a <time> with the full date as its title.
 * @param {string} iso
 */
function until(iso) {
    if (new Date(iso).getTime() <= Date.now()) return when(iso);
    const full = new Date(iso).toLocaleString("en", { dateStyle: "long", timeStyle: "short" });
    return el("time", { datetime: iso, title: full }, fromNow(iso));
}

$("invite-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const program = consoleState.program;
    const uses = Number($("invite-uses").value);
    const expiry = $("invite-expiry").value;
    await act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        if (!Number.isInteger(uses) || uses < 1 || uses > 1_000_000) { // the server's bounds, said plainly
            throw new ClientError("invalid-uses", "the number of people must be a whole number from 1 to 1000000");
        }
        const invite = await api().createInvite(program, uses, expiry ? Number(expiry) : null);
        const link = joinLink(program, invite.code);
        $("invite-link").value = link;
        $("invite-qr").replaceChildren(qrSVG(encodeQR(link), `QR code of the join link to ${program}`));
        $("invite-made").hidden = false;
        await drawList();
        const expires = invite.expiresAt ? `stops working ${fromNow(invite.expiresAt)}` : "does not expire";
        say(`Made an invite link to ${program} for ${uses} ${uses === 1 ? "person" : "people"}; it ${expires}. Copy it or show its QR code below: it is shown only now.`);
    });
});

/**
 * The link members open: the code in the fragment, which the browser never sends to the server.
 * @param {string} program
 * @param {string} code
 */
export function joinLink(program, code) {
    return `${location.origin}/join#program=${encodeURIComponent(program)}&invite=${encodeURIComponent(code)}`;
}

$("invite-copy").addEventListener("click", async () => {
    const input = /** @type {HTMLInputElement} */ ($("invite-link"));
    try {
        await navigator.clipboard.writeText(input.value);
        say("Copied the join link.");
    } catch {
        input.focus();
        input.select();
        say("This browser did not let the page copy. The link is selected: copy it yourself (Ctrl+C, or press and hold).");
    }
});

/**
 * Asks first, under the list.
 * @param {string} id
 * @param {string} label
 */
function askRevoke(id, label) {
    revoking = { id, label };
    $("revoke-question").textContent = `Revoke ${label}? Nobody can join with it any more; members who joined with it stay.`;
    $("revoke-confirm").hidden = false;
    $("revoke-go").focus();
}

$("revoke-cancel").addEventListener("click", () => {
    $("revoke-confirm").hidden = true;
    /** @type {HTMLElement | null} */ (document.querySelector(`[data-invite="${CSS.escape(revoking.id)}"]`))?.focus();
});

$("revoke-go").addEventListener("click", async () => {
    const { id, label } = revoking;
    await act($("revoke-go"), async () => {
        await api().revokeInvite(consoleState.program, id);
        $("revoke-confirm").hidden = true;
        await drawList();
        say(`Revoked ${label}. Nobody can join with it any more.`);
    });
});
