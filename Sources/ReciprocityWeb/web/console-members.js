// @ts-check
// The Members screen: the program's members, found by handle, suspended or reinstated with a reason that goes
// to the audit log only.

import { $, el, say, when } from "./dom.js";
import { act, api, consoleState, showScreen } from "./console-ui.js";

/** @type {{handle: string, status: string, joinedAt: string}[]} */
let members = [];
/** The member the status form is about, and whether it suspends. */
let pending = { handle: "", suspend: true };

export async function render() {
    $("status-form").hidden = true;
    members = await api().members(consoleState.program);
    draw();
}

function draw() {
    const filter = $("member-filter").value.trim().toLowerCase().replace(/^@/, "");
    const shown = members.filter((m) => m.handle.includes(filter));
    $("member-count").textContent = filter
        ? `${shown.length} of ${members.length} members match “${filter}”.`
        : `${members.length} member${members.length === 1 ? "" : "s"}.`;
    $("member-table").hidden = shown.length === 0;
    $("member-list").replaceChildren(...shown.map((member) => {
        const suspend = member.status !== "suspended";
        const button = el("button", { type: "button", class: suspend ? "danger" : "", "data-handle": member.handle,
            "aria-label": `${suspend ? "Suspend" : "Reinstate"} ${member.handle}` }, suspend ? "Suspend…" : "Reinstate…");
        button.addEventListener("click", () => ask(member.handle, suspend));
        return el("tr", {},
            el("td", { "data-label": "Handle", class: "fp" }, member.handle),
            el("td", { "data-label": "Status" }, member.status === "suspended" ? "Suspended" : "Active"),
            el("td", { "data-label": "Joined" }, when(member.joinedAt)),
            el("td", {}, button));
    }));
}

$("member-filter").addEventListener("input", draw);

/**
 * Opens the status form for `handle`, saying what the change does.
 * @param {string} handle
 * @param {boolean} suspend
 */
function ask(handle, suspend) {
    pending = { handle, suspend };
    $("status-form-title").textContent = `${suspend ? "Suspend" : "Reinstate"} ${handle}`;
    $("status-form-effect").textContent = suspend
        ? `The server refuses every request of ${handle}'s app, and ${handle} leaves the directory, until reinstated.`
        : `${handle}'s app works again and ${handle} is back in the directory.`;
    $("status-go").textContent = suspend ? `Suspend ${handle}` : `Reinstate ${handle}`;
    $("status-go").className = suspend ? "danger" : "primary";
    $("status-reason").value = "";
    $("status-form").hidden = false;
    $("status-reason").focus();
}

/**
 * Shows the Members screen found to `handle` with the form that suspends them open: the way to suspend from
 * elsewhere (a report), so that suspending has one form and one rule.
 * @param {string} handle
 */
export async function offerSuspension(handle) {
    $("member-filter").value = handle;
    await showScreen("members", { focus: false });
    if (members.some((m) => m.handle === handle && m.status !== "suspended")) ask(handle, true);
}

$("status-cancel").addEventListener("click", () => {
    $("status-form").hidden = true;
    /** @type {HTMLElement | null} */ (document.querySelector(`[data-handle="${CSS.escape(pending.handle)}"]`))?.focus();
});

$("status-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const { handle, suspend } = pending;
    const reason = $("status-reason").value.trim();
    await act(/** @type {HTMLButtonElement} */ ($("status-go")), async () => {
        await api().setStatus(consoleState.program, handle, suspend, reason);
        await render();
        say(`${suspend ? "Suspended" : "Reinstated"} ${handle}${reason ? ", with your reason in the audit log" : ""}.`);
    });
});
