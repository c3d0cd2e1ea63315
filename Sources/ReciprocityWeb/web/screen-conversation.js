// @ts-check
// The conversation with one verified match (Specs/messages.md): messages in order, a compose box, contact
// details shared on purpose, meetings proposed, accepted or moved (an accepted one downloads as an .ics made
// here), and the end. Everything the other member wrote is set as text (textContent through el), never as
// markup, and no link in it is made clickable. The screen opens, like every screen, after the one poll
// (screen-matches.js), which also reads the new messages of the conversation shown; it then draws from this
// device's state. Sending, sharing, answering and ending each send their one request and then draw again.
// Reporting sends its one request only when the member sends the form, which says before that what goes with it.

import { $, act, confirmStep, el, say, when } from "./ui.js";
import { heldMembership, redraw, renderers, session } from "./session.js";
import { showScreen } from "./navigation.js";
import { contactDetails, end, keepContactDetails, local, meetings, report, reportedMessages, send } from "./conversations.js";
import { decodePayload, meetingIcs, newMeeting } from "./conversation-payload.js";
import { conversationInfo } from "./screen-matches.js";
import { ClientError } from "./server-api.js";

/** The meeting a suggestion replaces, while the form proposes another time for it. */
let replacing = null;
/** The conversation as this device holds it, whose messages a report with messages would quote. */
let reportRecord = null;

/**
 * Shows the conversation of the match with `token`.
 * @param {string} token
 */
export function openConversation(token) {
    session.conversation = token;
    replacing = null;
    /** @type {HTMLFormElement} */ ($("report-form")).reset();
    $("report-form").hidden = true;
    return showScreen("conversation");
}

function shown() {
    const info = conversationInfo(session.conversation);
    if (!info) throw new ClientError("no-conversation", "that conversation is not one of your verified matches");
    return info;
}

/** One line of a payload, for a message that is not text. */
function describe(p) {
    switch (p.type) {
        case "text": return p.text ?? "";
        case "contact":
            return "Contact details: " + [["Email", p.email], ["Phone", p.phone], ["Chat", p.chat], ["Note", p.note]]
                .filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join("; ");
        case "meeting":
            return `${p.replaces ? "Suggests another time" : "Proposes a meeting"}: ${p.topic}, ${new Date(p.start).toLocaleString()} for ${p.minutes} minutes, ${[p.place, p.link].filter(Boolean).join(", ")}`;
        case "meeting-reply": return p.answer === "accept" ? "Accepts the meeting." : "Declines the meeting.";
        default: return "A message this version cannot show.";
    }
}

/** Downloads an accepted meeting's calendar event, made here (the same bytes as `reciprocity meet ics`). */
function download(meeting) {
    const url = URL.createObjectURL(new Blob([meetingIcs(meeting)], { type: "text/calendar;charset=utf-8" }));
    const link = el("a", { href: url, download: `meeting-${meeting.id}.ics` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A button that runs `onClick` (el sets attributes only, and the CSP forbids inline handlers). */
function button(text, attributes, onClick) {
    const node = el("button", { type: "button", ...attributes }, text);
    node.addEventListener("click", onClick);
    return node;
}

/** The buttons under a meeting: accept or suggest another time (theirs, not answered), or add to calendar. */
function meetingButtons(entry, info, ended) {
    const { meeting, fromMe, accepted, answered } = entry;
    const buttons = [];
    if (accepted) {
        buttons.push(button("Add to calendar", { class: "primary", "data-meeting": meeting.id }, () => act(null, async () => download(meeting))));
    } else if (!fromMe && !answered && !ended) {
        buttons.push(button("Accept", { "data-accept": meeting.id }, (event) => act(event.target, async () => {
            await send(heldMembership(), info, { type: "meeting-reply", id: meeting.id, answer: "accept" });
            say("Meeting accepted. Use “Add to calendar” to keep it.");
            await redraw();
        })));
        buttons.push(button("Suggest another time", { "data-suggest": meeting.id }, () => {
            replacing = meeting;
            $("meeting-topic").value = meeting.topic;
            $("meeting-place").value = meeting.place ?? "";
            $("meeting-link").value = meeting.link ?? "";
            $("meeting-minutes").value = String(meeting.minutes);
            drawSuggestion();
            $("meeting-date").focus();
        }));
    }
    return buttons.length ? [el("span", { class: "meta" }, ...buttons)] : [];
}

function drawSuggestion() {
    $("meeting-instead").hidden = !replacing;
    $("meeting-instead").textContent = replacing ? `Suggesting another time for “${replacing.topic}”.` : "";
    $("meeting-reset").hidden = !replacing;
    $("meeting-send").textContent = replacing ? "Suggest this time" : "Propose this meeting";
}

/** Draws the conversation from this device's state (the poll read the new messages already). */
export async function render() {
    const info = shown();
    const record = await local(info);
    const ended = record.ended || info.ended;
    $("conversation-title").textContent = `Conversation with @${info.handle}`;
    document.title = `Conversation with @${info.handle} · Reciprocity`;
    $("conversation-handle").textContent = `@${info.handle}`;
    $("conversation-ended").hidden = !ended;
    $("conversation-actions").hidden = ended;
    const byId = new Map(meetings(record).map((m) => [m.meeting.id, m]));
    $("conversation-messages").replaceChildren(...record.messages.map((m) => {
        let body, extra = [];
        try {
            if (!m.payload) throw new Error(m.problem ?? "cannot be shown");
            const p = decodePayload(m.payload);
            body = el("span", {}, describe(p));
            if (p.type === "meeting" && byId.has(p.id)) extra = meetingButtons(byId.get(p.id), info, ended);
        } catch (error) {
            body = el("span", { class: "problem" }, `(${m.problem ?? error.message})`);
        }
        return el("li", { class: m.fromMe ? "mine" : "theirs" },
            el("span", { class: "meta" }, m.fromMe ? "You, " : `@${info.handle}, `, when(m.sentAt)), body, ...extra);
    }));
    if (!record.messages.length) $("conversation-messages").append(el("li", {}, "No messages yet. Say hello!"));
    const contact = await contactDetails();
    $("share-contact").disabled = !contact;
    $("share-help").textContent = contact
        ? "Sends the contact details you saved on the Security screen, locked so that only they can read them."
        : "Save your contact details on the Security screen first; they stay on this device until you share them.";
    drawSuggestion();
    reportRecord = record;
    $("report-who").textContent = `@${info.handle}`;
    drawReportSends();
}

/** Says, before the report is sent, exactly what goes with it. */
function drawReportSends() {
    const handle = $("report-who").textContent;
    let text = `Only your reason goes, with your handle and ${handle}'s. None of your messages leave this device.`;
    if ($("report-include").checked && reportRecord) {
        const { messages, leftOut } = reportedMessages(reportRecord, $("report-reason").value.trim());
        const count = messages.length;
        text = count
            ? `Your reason and the ${leftOut ? "newest " : ""}${count === 1 ? "message" : `${count} messages`}${leftOut ? "" : " shown above"} go to the organizers unencrypted: they can read every word, contact details and meetings included.${leftOut ? ` ${leftOut === 1 ? "1 older message does" : `${leftOut} older messages do`} not fit in one report and will not go.` : ""}`
            : "There are no messages here to include; only your reason goes.";
    }
    $("report-sends").textContent = text;
}

/** The Security screen's contact details form, filled from this device. */
export async function renderContact() {
    const contact = (await contactDetails()) ?? {};
    for (const name of ["email", "phone", "chat", "note"]) $(`contact-${name}`).value = contact[name] ?? "";
}

$("compose-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        const text = $("compose-text").value.trim();
        if (!text) throw new ClientError("empty-message", "Write a message first");
        await send(heldMembership(), shown(), { type: "text", text });
        $("compose-text").value = "";
        say("Sent.", { focus: false });
        await redraw();
        $("compose-text").focus();
    });
});

$("share-contact").addEventListener("click", (event) => act(/** @type {HTMLButtonElement} */ (event.target), async () => {
    const contact = await contactDetails();
    if (!contact) throw new ClientError("no-contact", "Save your contact details on the Security screen first");
    await send(heldMembership(), shown(), { type: "contact", ...contact });
    say("Your contact details were sent.");
    await redraw();
}));

$("meeting-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        const date = $("meeting-date").value, time = $("meeting-time").value;
        const start = new Date(`${date}T${time}`);
        if (!date || !time || Number.isNaN(start.getTime())) throw new ClientError("invalid-payload", "Give the meeting's date and time");
        const meeting = newMeeting({
            start, minutes: Number($("meeting-minutes").value), topic: $("meeting-topic").value.trim(),
            place: $("meeting-place").value.trim() || undefined, link: $("meeting-link").value.trim() || undefined,
            replaces: replacing?.id,
        });
        await send(heldMembership(), shown(), meeting);
        /** @type {HTMLFormElement} */ ($("meeting-form")).reset();
        replacing = null;
        say(meeting.replaces ? "Another time was suggested." : "The meeting was proposed.");
        await redraw();
    });
});

$("meeting-reset").addEventListener("click", () => {
    replacing = null;
    /** @type {HTMLFormElement} */ ($("meeting-form")).reset();
    drawSuggestion();
});

confirmStep("end");
$("end-go").addEventListener("click", (event) => act(/** @type {HTMLButtonElement} */ (event.target), async () => {
    await end(heldMembership(), shown());
    $("end-confirm").hidden = true;
    say("The conversation was ended.");
    await redraw();
}));

$("report-start").addEventListener("click", () => {
    $("report-form").hidden = false;
    $("report-reason").focus();
});
$("report-cancel").addEventListener("click", () => {
    /** @type {HTMLFormElement} */ ($("report-form")).reset();
    $("report-form").hidden = true;
    drawReportSends();
    $("report-start").focus();
});
$("report-include").addEventListener("change", drawReportSends);
$("report-reason").addEventListener("input", drawReportSends);
$("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        const reason = $("report-reason").value.trim();
        if (!reason) throw new ClientError("empty-report", "Say what happened first");
        const include = $("report-include").checked;
        const { sent, leftOut } = await report(heldMembership(), shown(), reason, include);
        /** @type {HTMLFormElement} */ ($("report-form")).reset();
        $("report-form").hidden = true;
        drawReportSends();
        say(include
            ? `Your report went to the organizers, with ${sent === 1 ? "1 message" : `${sent} messages`} they can read.${leftOut ? ` ${leftOut === 1 ? "1 older message" : `${leftOut} older messages`} did not fit and stayed on this device.` : ""}`
            : "Your report went to the organizers, without your messages.");
    });
});

$("conversation-back").addEventListener("click", () => showScreen("matches"));

$("contact-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(/** @type {HTMLButtonElement} */ (event.submitter), async () => {
        const details = Object.fromEntries(["email", "phone", "chat", "note"]
            .map((name) => [name, $(`contact-${name}`).value.trim()]).filter(([, v]) => v));
        if (!details.email && !details.phone && !details.chat) throw new ClientError("invalid-payload", "Give at least an email, a phone number or a chat handle");
        await keepContactDetails(details);
        say("Your contact details are saved on this device only.");
    });
});

$("contact-clear").addEventListener("click", (event) => act(/** @type {HTMLButtonElement} */ (event.target), async () => {
    await keepContactDetails(null);
    await renderContact();
    say("Your contact details were deleted from this device.");
}));

renderers.conversation = render;
