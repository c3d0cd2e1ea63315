// @ts-check
// The Programs screen: the programs this credential may run, the chosen one's description and code of conduct,
// its marks per member, a new round (epoch) now or at a time after saying plainly what it does to pending marks,
// and (the operator only) a new program.

import { $, confirmStep, el, say } from "./dom.js";
import { ClientError } from "./server-api.js";
import { act, api, consoleState } from "./console-ui.js";

/** @type {(name: string) => void} */
let created = () => {};
/** @param {(name: string) => void} callback called with a new program's name */
export function onCreated(callback) { created = callback; }

/** @type {{name: string, epoch: number, maxMarks: number, description: string, conduct: string, nextRoundAt?: string}[]} */
let known = [];
/** The time the confirmed round is to start at (RFC 3339), or null for now. */
let roundAt = /** @type {string | null} */ (null);

/** @param {string} iso */
const when = (iso) => new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

export async function render() {
    known = await api().programs();
    $("programs-list").replaceChildren(...known.map((p) => el("tr", {},
        el("td", { "data-label": "Program" }, p.name),
        el("td", { "data-label": "Round" }, String(p.epoch)),
        el("td", { "data-label": "Marks per member per round" }, String(p.maxMarks)))));
    drawChosen();
}

/** The chosen program's texts and round. */
function drawChosen() {
    const program = known.find((p) => p.name === consoleState.program);
    for (const id of ["about-edit-title", "quota-title", "round-title"]) $(id).closest("section").hidden = !program;
    if (!program) return;
    $("quota").value = String(program.maxMarks);
    $("about-description").value = program.description;
    $("about-conduct").value = program.conduct;
    $("round-now").textContent = String(program.epoch);
    for (const span of [$("round-next"), ...document.querySelectorAll(".round-next")]) span.textContent = String(program.epoch + 1);
    $("round-confirm").hidden = true;
    $("round-scheduled").hidden = !program.nextRoundAt;
    $("round-scheduled-at").textContent = program.nextRoundAt ? when(program.nextRoundAt) : "";
}

/** Shows what a new round does, for now or for `at`. @param {string | null} at */
function confirmRound(at) {
    roundAt = at;
    for (const id of ["round-when", "round-go-when"]) $(id).textContent = at ? `at ${when(at)}` : "now";
    $("round-confirm").hidden = false;
    $("round-go").focus();
}

$("about-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const program = consoleState.program;
    await act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        await api().setAbout(program, $("about-description").value, $("about-conduct").value);
        await render();
        say(`Saved the description and code of conduct of ${program}. Members see them on their About screen.`);
    });
});

$("quota-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const program = consoleState.program;
    const quota = Number($("quota").value);
    await act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        checkQuota(quota);
        const updated = await api().setQuota(program, quota);
        await render();
        say(`Each member of ${program} may now mark ${updated.maxMarks} ${updated.maxMarks === 1 ? "person" : "people"} per round.`);
    });
});

/**
 * @param {number} quota
 * @throws {ClientError} unless a whole number from 1 to 10000 (the server's bounds)
 */
function checkQuota(quota) {
    if (!Number.isInteger(quota) || quota < 1 || quota > 10_000) {
        throw new ClientError("invalid-quota", "marks per member per round must be a whole number from 1 to 10000");
    }
}

confirmStep("round");
$("round-start").addEventListener("click", () => confirmRound(null));
$("round-schedule-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    await act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        const at = new Date($("round-at").value);
        if (Number.isNaN(at.getTime())) throw new ClientError("invalid-time", "choose the date and time the round starts");
        if (at.getTime() <= Date.now()) throw new ClientError("time-passed", "that time has passed; choose one ahead");
        confirmRound(at.toISOString());
    });
});
$("round-go").addEventListener("click", async () => {
    const program = known.find((p) => p.name === consoleState.program);
    if (!program) return;
    await act($("round-go"), async () => {
        if (roundAt) {
            const updated = await api().scheduleRound(program.name, roundAt);
            await render();
            say(`${updated.name} moves to round ${updated.epoch + 1} by itself at ${when(updated.nextRoundAt ?? roundAt)}. Its pending marks are deleted then.`);
            return;
        }
        const updated = await api().setEpoch(program.name, program.epoch + 1);
        await render();
        say(`${updated.name} is in round ${updated.epoch} now. Its pending marks were deleted; members' apps send their interests again when next opened.`);
    });
});
$("round-unschedule").addEventListener("click", async () => {
    const program = consoleState.program;
    await act($("round-unschedule"), async () => {
        const updated = await api().cancelRound(program);
        await render();
        $("round-start").focus();
        say(`${updated.name} has no scheduled round; it stays in round ${updated.epoch} until you start the next.`);
    });
});

$("create-program-form").addEventListener("submit", async (/** @type {SubmitEvent} */ event) => {
    event.preventDefault();
    const name = $("new-program-name").value.trim();
    const quota = Number($("new-program-quota").value);
    const description = $("new-program-description").value;
    const conduct = $("new-program-conduct").value;
    await act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        checkQuota(quota);
        await api().createProgram(name, quota);
        let note = "";
        if (description.trim() || conduct.trim()) {
            try {
                await api().setAbout(name, description, conduct);
            } catch (error) {
                note = ` Its description was not saved (${error.message}): correct it below and save again.`;
            }
        }
        consoleState.programs = [...consoleState.programs, name].sort();
        created(name);
        /** @type {HTMLFormElement} */ ($("create-program-form")).reset();
        await render();
        if (note) {
            $("about-description").value = description;
            $("about-conduct").value = conduct;
        }
        say(`Created ${name}, with ${quota} marks per member per round. It is the chosen program now: make its first invite on the Invites screen.${note}`);
    });
});
