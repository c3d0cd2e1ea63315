// @ts-check
// The About screen: the program's description and code of conduct, as the operator set them (ProgramInfo's
// `description` and `conduct`, in the join answer and in every poll's GET /v1/me). Plain text, drawn as text
// nodes (a line break as <br>, never markup); the code of conduct behind a <details> disclosure. No request of
// its own: it draws what the last poll, or the join, brought.

import { $, el } from "./ui.js";
import { heldMembership } from "./session.js";

/**
 * @typedef {{name: string, description?: string, conduct?: string}} ProgramTexts
 */

/**
 * True when the operator set a description or a code of conduct.
 * @param {ProgramTexts | null | undefined} program
 * @returns {boolean}
 */
export function hasAbout(program) {
    return !!(program?.description || program?.conduct);
}

/**
 * `text` as paragraphs (split at blank lines), each line's break a <br>: text nodes only.
 * @param {string} text
 * @returns {HTMLParagraphElement[]}
 */
function paragraphs(text) {
    return text.split(/\n\s*\n/).map((block) =>
        el("p", {}, block.split("\n").flatMap((line, index) => (index ? [el("br"), line] : [line]))));
}

/**
 * Fills `container` with the program's texts.
 * @param {HTMLElement} container
 * @param {ProgramTexts} program
 * @returns {void}
 */
export function showAbout(container, program) {
    container.replaceChildren(
        program.description
            ? el("div", { id: "program-description" }, paragraphs(program.description))
            : el("p", { class: "help" }, `The operator has not described ${program.name} yet.`),
        program.conduct
            ? el("details", { id: "program-conduct" },
                el("summary", {}, "Code of conduct"), paragraphs(program.conduct))
            : el("p", { class: "help" }, "No code of conduct has been set."));
}

/**
 * Draws the About screen from the last poll's GET /v1/me (or, before the first poll, the join answer).
 * @returns {void}
 */
export function render() {
    const program = heldMembership().lastMe?.program;
    if (!program) return; // the refresh failed and says so; nothing to show yet
    $("about-program-name").textContent = program.name;
    showAbout($("program-about"), program);
}
