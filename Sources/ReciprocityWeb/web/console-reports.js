// @ts-check
// The Reports screen: what members reported about the other member of a conversation, oldest first, with the
// messages each reporter chose to include, and from each report the way to suspend the reported member (the
// Members screen's suspension, console-members.js). Every text here was typed by a member: it is set as text
// only, never as HTML.

import { $, el, when } from "./dom.js";
import { api, consoleState } from "./console-ui.js";
import { offerSuspension } from "./console-members.js";

export async function render() {
    const [reports, members] = await Promise.all([api().reports(consoleState.program), api().members(consoleState.program)]);
    const suspended = new Set(members.filter((m) => m.status === "suspended").map((m) => m.handle));
    $("reports-empty").hidden = reports.length > 0;
    $("report-list").hidden = reports.length === 0;
    $("report-list").replaceChildren(...reports.map((report, index) => draw(report, index, suspended.has(report.reported))));
}

/**
 * One report, as an article headed by who reported whom.
 * @param {{reporter: string, reported: string, epoch: number, reason: string, messages: {seq: number, fromMe: boolean, text: string}[], createdAt: string}} report
 * @param {number} index
 * @param {boolean} suspended whether the reported member is suspended now
 */
function draw(report, index, suspended) {
    const title = `report-${index}-title`;
    let action;
    if (suspended) {
        action = el("p", { class: "help" }, `${report.reported} is suspended.`);
    } else {
        action = el("button", { type: "button", class: "danger", "data-report-suspend": report.reported },
            `Suspend ${report.reported}…`);
        action.addEventListener("click", () => offerSuspension(report.reported));
    }
    const quoted = report.messages.length === 0
        ? el("p", { class: "help" }, "No messages included.")
        : el("ol", { class: "report-messages", "aria-label": `Messages ${report.reporter} included` },
            ...report.messages.map((message) => el("li", {},
                el("p", { class: "report-author" }, message.fromMe ? report.reporter : report.reported,
                    el("span", { class: "help" }, ` · message ${message.seq}`)),
                el("p", { class: "report-text" }, message.text))));
    return el("li", {},
        el("article", { class: "panel report", "aria-labelledby": title },
            el("h2", { id: title }, el("span", { class: "fp" }, report.reporter), " reported ",
                el("span", { class: "fp" }, report.reported)),
            el("p", { class: "help" }, when(report.createdAt), ` · round ${report.epoch}`),
            el("h3", {}, "Reason"),
            el("p", { class: "report-text" }, report.reason),
            el("h3", {}, `Messages ${report.reporter} included (${report.messages.length})`),
            quoted,
            action));
}
