// @ts-check
// The Health screen: the program's figures (GET …/health; every one from profiles, joins and matches, none from
// a pending mark) as charts with their tables, and the server's CSV of the same figures.

import { $, el, say } from "./dom.js";
import { act, api, consoleState } from "./console-ui.js";
import { barChart } from "./console-charts.js";

/** Days of joins the chart shows (the table too); the CSV has every day. */
const DAYS_SHOWN = 30;

export async function render() {
    const h = await api().health(consoleState.program);
    const fact = (term, value) => [el("dt", {}, term), el("dd", { "data-fact": term }, String(value))];
    $("health-facts").replaceChildren(
        ...fact("Active members", h.activeMembers),
        ...fact("Suspended members", h.suspendedMembers),
        ...fact("Complete profiles", `${h.profilesComplete} of ${h.activeMembers} active members`),
        ...fact("Open to mentoring", h.offeringMentoring),
        ...fact("Looking for a mentor", h.seekingMentor),
        ...fact("Matches, all rounds", h.matchesByEpoch.reduce((sum, e) => sum + e.matches, 0)));
    const joins = h.joinsByDay.slice(-DAYS_SHOWN);
    const shortfall = h.tags.filter((t) => t.seeking > t.offering).map((t) => t.tag);
    // Beside its table on a wide screen, the whole width on a phone (console.css).
    const page = $("health-charts").clientWidth;
    const width = page > 640 ? page * 0.6 - 12 : page;
    $("health-charts").replaceChildren(
        barChart({
            title: h.joinsByDay.length > DAYS_SHOWN ? `Joins per day (the last ${DAYS_SHOWN} days with a join; the CSV has all)` : "Joins per day",
            summary: `Joins per day: ${joins.map((d) => `${d.joins} on ${d.day}`).join(", ") || "none yet"}.`,
            labelHeading: "Day (UTC)", series: ["Joins"], empty: "Nobody has joined yet.",
            rows: joins.map((d) => ({ label: d.day, values: [d.joins] })), width,
        }),
        barChart({
            title: "Profiles",
            summary: `${h.profilesComplete} of ${h.activeMembers} active members have a complete profile.`,
            labelHeading: "Profiles of active members", series: ["Members"],
            rows: [{ label: "Complete", values: [h.profilesComplete] },
                { label: "Incomplete", values: [h.activeMembers - h.profilesComplete] }], width,
        }),
        barChart({
            title: "Offering and seeking mentoring",
            summary: `${h.offeringMentoring} active members are open to mentoring, ${h.seekingMentor} are looking for a mentor.`,
            labelHeading: "Mentoring (active members)", series: ["Members"],
            rows: [{ label: "Offering", values: [h.offeringMentoring] },
                { label: "Seeking", values: [h.seekingMentor] }], width,
        }),
        barChart({
            title: "Matches per round",
            summary: `Matches per round: ${h.matchesByEpoch.map((e) => `${e.matches} in round ${e.epoch}`).join(", ") || "none yet"}.`,
            labelHeading: "Round", series: ["Matches"], empty: "No matches yet.",
            rows: h.matchesByEpoch.map((e) => ({ label: `Round ${e.epoch}`, values: [e.matches] })), width,
        }),
        barChart({
            title: "Supply and demand by tag",
            summary: shortfall.length
                ? `More members look for a mentor than offer mentoring in ${shortfall.join(", ")}.`
                : "No tag has more members looking for a mentor than offering mentoring.",
            labelHeading: "Tag", series: ["Looking for a mentor", "Open to mentoring"], empty: "No active member lists a tag yet.",
            rows: h.tags.map((t) => ({ label: t.tag, values: [t.seeking, t.offering] })), width,
        }));
}

$("health-csv").addEventListener("click", async () => {
    const program = consoleState.program;
    await act($("health-csv"), async () => {
        const blob = await api().healthCSV(program);
        const url = URL.createObjectURL(blob);
        const link = el("a", { href: url, download: `${program}-health.csv`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10_000);
        say(`Downloaded ${program}-health.csv.`);
    });
});
