// @ts-check
// The payloads of a conversation (Specs/messages.md section 9) and the calendar event of an accepted meeting
// (section 9a), a port of the Swift client's ConversationPayload.swift: the same checks, and the same .ics bytes
// from the same meeting.

import { base64urlEncode } from "./reciprocity.js";
import { ClientError } from "./server-api.js";

const encoder = new TextEncoder();
const bytes = (text) => encoder.encode(text).length;
const ID = /^[A-Za-z0-9_-]{22}$/;
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * @typedef {{type: string, text?: string, email?: string, phone?: string, chat?: string, note?: string, id?: string,
 *   start?: string, minutes?: number, topic?: string, place?: string, link?: string, replaces?: string,
 *   answer?: string}} Payload
 */

/** @returns {never} */
function refuse(message) {
    throw new ClientError("invalid-payload", message);
}

/** A UTC time to the second, as a meeting's `start`. */
export function utcStamp(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Section 9's limits; the error names the member at fault.
 * @param {Payload} p
 */
export function checkPayload(p) {
    const field = (value, name, min, max, required = false) => {
        if (value === undefined || value === null) {
            if (required) refuse(`a ${p.type} message needs '${name}'`);
            return;
        }
        if (typeof value !== "string" || bytes(value) < min || bytes(value) > max) refuse(`'${name}' of a ${p.type} message is ${min} to ${max} bytes of UTF-8`);
    };
    const id = (value) => {
        if (typeof value !== "string" || !ID.test(value)) refuse("a meeting's id is 22 characters of base64url");
    };
    switch (p.type) {
        case "text":
            field(p.text, "text", 1, 4000, true);
            break;
        case "contact":
            if (p.email == null && p.phone == null && p.chat == null) refuse("contact details need at least an email, a phone or a chat handle");
            field(p.email, "email", 1, 254);
            field(p.phone, "phone", 1, 32);
            field(p.chat, "chat", 1, 128);
            field(p.note, "note", 0, 500);
            break;
        case "meeting":
            id(p.id);
            if (typeof p.start !== "string" || !STAMP.test(p.start) || Number.isNaN(Date.parse(p.start))
                || utcStamp(new Date(p.start)) !== p.start) refuse("a meeting's start is a UTC time as YYYY-MM-DDTHH:MM:SSZ");
            if (typeof p.minutes !== "number" || !Number.isInteger(p.minutes) || p.minutes < 5 || p.minutes > 480) refuse("a meeting lasts 5 to 480 minutes");
            field(p.topic, "topic", 1, 200, true);
            if (p.place == null && p.link == null) refuse("a meeting needs a place or a link");
            field(p.place, "place", 1, 200);
            field(p.link, "link", 9, 500);
            if (p.link != null && !p.link.startsWith("https://")) refuse("a meeting's link is an https:// address");
            if (p.replaces != null) id(p.replaces);
            break;
        case "meeting-reply":
            id(p.id);
            if (p.answer !== "accept" && p.answer !== "decline") refuse("a meeting reply's answer is accept or decline");
            break;
        default:
            refuse(`a message this version cannot show (type '${String(p.type)}')`);
    }
}

/** The members of each type (section 9), `type` included. */
const MEMBERS = {
    text: ["text", "type"],
    contact: ["chat", "email", "note", "phone", "type"],
    meeting: ["id", "link", "minutes", "place", "replaces", "start", "topic", "type"],
    "meeting-reply": ["answer", "id", "type"],
};

/**
 * The one encoding this page sends and quotes in a report: compact JSON, members sorted, only the members of its
 * type (what the screen shows of it), absent and empty ones left out. The Swift `MessagePayload.encoded()` gives
 * the same bytes.
 * @param {Payload} p
 * @returns {string}
 */
export function encodePayload(p) {
    checkPayload(p);
    const sorted = Object.fromEntries(MEMBERS[p.type].map((name) => [name, p[name]]).filter(([, v]) => v !== undefined && v !== null && v !== ""));
    return JSON.stringify(sorted);
}

/**
 * Whether some object in `text` (JSON that parsed) names a member twice, names compared as the Swift client does
 * (after NFC: canonically equivalent names are one name; DuplicateNames.swift).
 * @param {string} text
 */
function repeatsName(text) {
    /** @type {(Set<string> | null)[]} the names of each open object, null for an array */
    const open = [];
    let expectingName = false;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === "{" || c === "[") {
            open.push(c === "{" ? new Set() : null);
            expectingName = c === "{";
        } else if (c === "}" || c === "]") {
            open.pop();
            expectingName = false;
        } else if (c === ",") {
            expectingName = open.length > 0 && open[open.length - 1] !== null;
        } else if (c === '"') {
            let end = i + 1;
            while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
            const names = open[open.length - 1];
            if (expectingName && names) {
                const name = JSON.parse(text.slice(i, end + 1)).normalize("NFC");
                if (names.has(name)) return true;
                names.add(name);
                expectingName = false;
            }
            i = end;
        }
    }
    return false;
}

/**
 * Reads a payload, refusing one that is not an object of a known type within section 9's limits, or that names a
 * member twice (which JSON readers settle differently: this page would show the last, the Swift client the first).
 * @param {string} text
 * @returns {Payload}
 */
export function decodePayload(text) {
    let value;
    try {
        value = JSON.parse(text);
    } catch {
        refuse("a message this version cannot show (not a payload it knows)");
    }
    if (!value || typeof value !== "object" || Array.isArray(value) || typeof value.type !== "string" || repeatsName(text)) refuse("a message this version cannot show (not a payload it knows)");
    checkPayload(value);
    return value;
}

/**
 * A new meeting: a fresh random `id` (16 bytes, base64url), `start` in UTC to the second.
 * @param {{start: Date, minutes: number, topic: string, place?: string, link?: string, replaces?: string}} m
 * @returns {Payload}
 */
export function newMeeting({ start, minutes, topic, place, link, replaces }) {
    const p = { type: "meeting", id: base64urlEncode(crypto.getRandomValues(new Uint8Array(16))), start: utcStamp(start), minutes, topic };
    if (place) p.place = place;
    if (link) p.link = link;
    if (replaces) p.replaces = replaces;
    checkPayload(p);
    return p;
}

/** RFC 5545 section 3.3.11 (section 9a): backslash, semicolon and comma escaped, a line break as `\n`. */
function escapeText(text) {
    let out = "";
    for (const ch of text.replace(/\r\n|\r/g, "\n")) {
        const code = /** @type {number} */ (ch.codePointAt(0));
        if (ch === "\\") out += "\\\\";
        else if (ch === ";") out += "\\;";
        else if (ch === ",") out += "\\,";
        else if (ch === "\n") out += "\\n";
        else if (code < 0x20 || code === 0x7f) continue;
        else out += ch;
    }
    return out;
}

/** RFC 5545 section 3.1: lines of at most 75 octets, continued after CRLF and a space, never inside a character. */
function fold(line) {
    let out = "";
    let length = 0;
    for (const ch of line) {
        const size = bytes(ch);
        if (length + size > 75) {
            out += "\r\n ";
            length = 1;
        }
        out += ch;
        length += size;
    }
    return out;
}

/**
 * The calendar event of an accepted meeting, built from the meeting alone (Specs/messages.md section 9a).
 * @param {Payload} meeting
 * @returns {string}
 */
export function meetingIcs(meeting) {
    if (meeting.type !== "meeting") refuse("not a meeting");
    checkPayload(meeting);
    const start = /** @type {string} */ (meeting.start).replace(/[-:]/g, "");
    const lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Reciprocity//Conversations 1//EN", "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT", `UID:${meeting.id}@reciprocity`, `DTSTAMP:${start}`, `DTSTART:${start}`,
        `DURATION:PT${meeting.minutes}M`, `SUMMARY:${escapeText(/** @type {string} */ (meeting.topic))}`,
    ];
    if (meeting.place != null) lines.push(`LOCATION:${escapeText(meeting.place)}`);
    if (meeting.link != null) {
        if (meeting.place == null) lines.push(`LOCATION:${escapeText(meeting.link)}`);
        lines.push(`DESCRIPTION:${escapeText(`Link: ${meeting.link}`)}`);
    }
    lines.push("END:VEVENT", "END:VCALENDAR");
    return lines.map(fold).join("\r\n") + "\r\n";
}
