// @ts-check
// The Organizers screen (the operator's only): add an organizer with the programs they may run, and show their
// credential this once; list the organizers; remove one (their credential stops working at once).

import { $, el, say, when } from "./dom.js";
import { ClientError } from "./server-api.js";
import { act, api, consoleState } from "./console-ui.js";

/** The organizer the remove step is asking about. */
let dismissing = "";

export async function render() {
    $("organizer-made").hidden = true;
    $("dismiss-confirm").hidden = true;
    $("organizer-programs").replaceChildren(...consoleState.programs.map((name, i) => el("div", { class: "check" },
        el("input", { type: "checkbox", id: `organizer-program-${i}`, value: name, checked: name === consoleState.program }),
        el("label", { for: `organizer-program-${i}` }, name))));
    await drawList();
}

async function drawList() {
    const organizers = await api().organizers();
    $("organizer-list-empty").hidden = organizers.length > 0;
    $("organizer-table").hidden = organizers.length === 0;
    $("organizer-list").replaceChildren(...organizers.map((organizer) => {
        const remove = el("button", { type: "button", class: "danger", "data-organizer": organizer.name,
            "aria-label": `Remove ${organizer.name}` }, "Remove…");
        remove.addEventListener("click", () => {
            dismissing = organizer.name;
            $("dismiss-question").textContent = `Remove ${organizer.name}? Their credential stops working at once; what they did stays in the audit log.`;
            $("dismiss-confirm").hidden = false;
            $("dismiss-go").focus();
        });
        return el("tr", {},
            el("td", { "data-label": "Name", class: "fp" }, organizer.name),
            el("td", { "data-label": "Programs" }, organizer.programs.join(", ")),
            el("td", { "data-label": "Added" }, when(organizer.createdAt)),
            el("td", {}, remove));
    }));
}

$("organizer-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const name = $("organizer-name").value.trim();
    const programs = [...document.querySelectorAll("#organizer-programs input:checked")].map((box) => /** @type {HTMLInputElement} */ (box).value);
    await act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        if (programs.length === 0) throw new ClientError("no-program", "choose at least one program they may run");
        const made = await api().createOrganizer(name, programs);
        /** @type {HTMLFormElement} */ ($("organizer-form")).reset();
        $("organizer-made-name").textContent = made.name;
        $("organizer-credential").value = made.credential;
        $("organizer-made").hidden = false;
        await drawList();
        say(`Added organizer ${made.name} for ${made.programs.join(", ")}. Their credential is below, shown only now.`);
    });
});

$("organizer-copy").addEventListener("click", async () => {
    const input = /** @type {HTMLInputElement} */ ($("organizer-credential"));
    try {
        await navigator.clipboard.writeText(input.value);
        say("Copied the credential.");
    } catch {
        input.focus();
        input.select();
        say("This browser did not let the page copy. The credential is selected: copy it yourself (Ctrl+C, or press and hold).");
    }
});

$("dismiss-cancel").addEventListener("click", () => {
    $("dismiss-confirm").hidden = true;
    /** @type {HTMLElement | null} */ (document.querySelector(`[data-organizer="${CSS.escape(dismissing)}"]`))?.focus();
});

$("dismiss-go").addEventListener("click", async () => {
    const name = dismissing;
    await act($("dismiss-go"), async () => {
        await api().removeOrganizer(name);
        $("dismiss-confirm").hidden = true;
        $("organizer-made").hidden = true;
        await drawList();
        say(`Removed organizer ${name}. Their credential no longer works.`);
    });
});
