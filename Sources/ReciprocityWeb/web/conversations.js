// @ts-check
// The conversations of verified matches as this browser keeps them (Specs/messages.md), a port of the Swift
// client's Conversations.swift. Kept in this origin's IndexedDB (member-state.js), key "conversations": per
// conversation the ratchet state (conversation-crypto.js; it holds the member's non-extractable static key and
// raw ratchet keys, as secret as the private key), what was read and sent, and the sequence number read up to.
// "Forget this device" and a restore delete the whole database, this with it. The contact details the member
// shares on purpose are key "contact", on this device only.
//
// The state is written before an envelope it sealed goes out and after every read: a closed tab or a failed
// request never makes this page seal two messages with one key. Every operation runs under one Web Lock.

import { openMessage, sealMessage, startConversation } from "./conversation-crypto.js";
import { checkPayload, decodePayload, encodePayload } from "./conversation-payload.js";
import { idbGet, idbPut } from "./member-state.js";
import { base64urlDecode, base64urlEncode, ReciprocityError } from "./reciprocity.js";
import { ClientError } from "./server-api.js";

/**
 * @typedef {{seq: number, fromMe: boolean, sentAt: string, payload?: string, problem?: string}} LocalMessage
 * @typedef {{token: string, epoch: number, handle: string, state: object | null, readSeq: number,
 *   messages: LocalMessage[], ended: boolean}} LocalConversation
 * @typedef {{token: string, epoch: number, handle: string, messages: number, lastSeq: number, ended: boolean}} ConversationInfo
 */

const LOCK = "reciprocity-conversations";

/** @returns {Promise<Record<string, LocalConversation>>} by token */
async function stored() {
    const [all] = await idbGet(["conversations"]);
    return all ?? {};
}

/** @param {LocalConversation} record */
async function keep(record) {
    const all = await stored();
    all[record.token] = record;
    await idbPut({ conversations: all });
}

/**
 * Every page of GET /v1/conversations, keeping those of matches this page verified (an unverified match is not
 * shown, and neither is its conversation).
 * @param {import("./membership.js").Membership} membership
 * @returns {Promise<ConversationInfo[]>}
 */
export async function fetchConversations(membership) {
    const all = [];
    let cursor = null;
    for (let page = 0; page < 1000; page++) {
        const response = await membership.api.call("GET", "/v1/conversations" + (cursor ? `?after=${encodeURIComponent(cursor)}` : ""));
        all.push(...response.conversations);
        if (!response.nextCursor || response.nextCursor === cursor || !response.conversations.length) break;
        cursor = response.nextCursor;
    }
    const marks = membership.state.marks;
    return all.filter((info) => marks.some((m) => m.token === info.token && m.handle === info.handle && m.matchedAt && m.epoch === info.epoch));
}

/**
 * What the Matches screen shows per conversation: unread messages of the counterpart, ended.
 * @param {ConversationInfo[]} infos
 * @returns {Promise<Map<string, {unread: number, ended: boolean}>>} by token
 */
export async function summaries(infos) {
    const all = await stored();
    return new Map(infos.map((info) => {
        const local = all[info.token];
        const read = local?.readSeq ?? 0;
        const own = local?.messages.filter((m) => m.fromMe && m.seq > read).length ?? 0;
        return [info.token, { unread: Math.max(0, info.lastSeq - read - own), ended: info.ended || local?.ended === true }];
    }));
}

/**
 * The conversation as stored here, or a new record.
 * @param {ConversationInfo} info
 * @returns {Promise<LocalConversation>}
 */
export async function local(info) {
    return (await stored())[info.token] ?? { token: info.token, epoch: info.epoch, handle: info.handle, state: null, readSeq: 0, messages: [], ended: info.ended };
}

/** The ratchet: the stored one, else a new start (section 5). */
async function ratchet(membership, record) {
    if (record.state) return record.state;
    if (record.ended) throw new ClientError("conversation-ended", `the conversation with ${record.handle} was ended`);
    const pinned = membership.state.pinnedKeys[record.handle];
    if (!pinned) throw new ClientError("no-pinned-key", `no pinned key for ${record.handle}`);
    const { state } = await startConversation({
        program: membership.state.program, epoch: record.epoch, token: base64urlDecode(record.token, 32),
        privateKey: membership.key, handle: membership.state.handle, peerHandle: record.handle,
        peerPublicKey: base64urlDecode(pinned, 32),
    });
    return state;
}

/** What the reader is told of an envelope that does not open (Specs/messages.md section 5 asks for the first). */
function refusal(code) {
    if (code === "messageAuthenticationFailed") return "sent to your earlier device, or altered on the way: it cannot be shown here";
    if (code === "messageReplayed") return "a message this device read already, sent again: not shown twice";
    return `a message that cannot be read here (${code})`;
}

/**
 * Reads every new message of a conversation and opens the counterpart's; returns the conversation as kept here.
 * @param {import("./membership.js").Membership} membership
 * @param {ConversationInfo} info
 * @returns {Promise<LocalConversation>}
 */
export function readNew(membership, info) {
    return navigator.locks.request(LOCK, async () => {
        const record = await local(info);
        let state = record.ended && !record.state ? null : await ratchet(membership, record);
        for (let page = 0; page < 1000; page++) {
            const response = await membership.api.call("GET", `/v1/conversations/${info.token}/messages?after=${record.readSeq}`);
            for (const message of response.messages) {
                if (message.seq <= record.readSeq) continue;
                record.readSeq = message.seq;
                if (message.fromMe) {
                    if (!record.messages.some((m) => m.seq === message.seq)) {
                        record.messages.push({ seq: message.seq, fromMe: true, sentAt: message.sentAt, problem: "sent from another device: it cannot be shown here" });
                    }
                    continue;
                }
                /** @type {LocalMessage} */
                const read = { seq: message.seq, fromMe: false, sentAt: message.sentAt };
                try {
                    if (!state) throw new ReciprocityError("messageMalformed", "no state");
                    const envelope = base64urlDecode(message.envelope, Math.floor((message.envelope.length * 6) / 8));
                    const opened = await openMessage(state, envelope);
                    state = opened.state;
                    read.payload = opened.payload;
                } catch (error) {
                    read.problem = refusal(error.code ?? "messageMalformed");
                }
                record.messages.push(read);
            }
            record.ended = record.ended || response.ended;
            record.state = record.ended ? null : state;
            await keep(record);
            if (!response.more || !response.messages.length) break;
        }
        return record;
    });
}

/**
 * Seals `payload` and posts it. The advanced state is stored before the request goes out and kept whatever the
 * answer (the envelope may have reached the server); a payload refused before that changes nothing.
 * @param {import("./membership.js").Membership} membership
 * @param {ConversationInfo} info
 * @param {import("./conversation-payload.js").Payload} payload
 * @returns {Promise<LocalMessage>}
 */
export function send(membership, info, payload) {
    const text = encodePayload(payload);
    return navigator.locks.request(LOCK, async () => {
        const record = await local(info);
        if (record.ended) throw new ClientError("conversation-ended", `the conversation with ${record.handle} was ended`);
        const sealed = await sealMessage(await ratchet(membership, record), text);
        record.state = sealed.state;
        await keep(record);
        let posted;
        try {
            posted = await membership.api.call("POST", `/v1/conversations/${info.token}/messages`, { envelope: base64urlEncode(sealed.envelope) });
        } catch (error) {
            if (error.code === "conversation-ended") {
                record.ended = true;
                record.state = null;
                await keep(record);
            }
            throw error;
        }
        /** @type {LocalMessage} */
        const sent = { seq: posted.seq, fromMe: true, sentAt: posted.sentAt, payload: text };
        record.messages.push(sent);
        await keep(record);
        return sent;
    });
}

/**
 * Ends the conversation for both members; its keys are dropped here.
 * @param {import("./membership.js").Membership} membership
 * @param {ConversationInfo} info
 */
export function end(membership, info) {
    return navigator.locks.request(LOCK, async () => {
        await membership.api.call("POST", `/v1/conversations/${info.token}/end`);
        const record = await local(info);
        record.ended = true;
        record.state = null;
        await keep(record);
    });
}

/** The most messages one report quotes (the server's limit): the newest ones. */
export const REPORTED_LIMIT = 200;
/**
 * The most bytes of request body a report with messages takes, as encoded, under the server's limit of 320 KiB;
 * the Swift `LocalConversation.reportBudget` is the same.
 */
export const REPORT_BUDGET = 256 * 1024;

const utf8Length = (text) => new TextEncoder().encode(text).length;

/**
 * The messages a report with `reason` quotes (Specs/messages.md section 9b, the Swift
 * `LocalConversation.reportedMessages`): of those this device shows (a payload that reads), the newest that fit
 * REPORTED_LIMIT and REPORT_BUDGET, each as its payload's one encoding (encodePayload: the members shown, nothing
 * the screen ignores); and how many older ones were left out. What did not open here is not counted: the member
 * never saw it.
 * @param {LocalConversation} record
 * @param {string} reason
 * @returns {{messages: {seq: number, fromMe: boolean, text: string}[], leftOut: number}}
 */
export function reportedMessages(record, reason) {
    const shown = record.messages.flatMap((m) => {
        try {
            return m.payload ? [{ seq: m.seq, fromMe: m.fromMe, text: encodePayload(decodePayload(m.payload)) }] : [];
        } catch {
            return [];
        }
    });
    let size = utf8Length(JSON.stringify({ reason, messages: [] }));
    const quoted = [];
    for (const message of shown.reverse()) {
        const added = utf8Length(JSON.stringify(message)) + (quoted.length ? 1 : 0);
        if (quoted.length === REPORTED_LIMIT || size + added > REPORT_BUDGET) break;
        size += added;
        quoted.push(message);
    }
    return { messages: quoted.reverse(), leftOut: shown.length - quoted.length };
}

/**
 * Reports the other member to the operator with `reason`; with `includeMessages`, the messages this device shows
 * that fit one report (reportedMessages), in clear. Without it nothing of the conversation leaves the device.
 * Returns how many went and how many older ones were left out.
 * @param {import("./membership.js").Membership} membership
 * @param {ConversationInfo} info
 * @param {string} reason
 * @param {boolean} includeMessages
 * @returns {Promise<{sent: number, leftOut: number}>}
 */
export async function report(membership, info, reason, includeMessages) {
    const quoted = includeMessages ? reportedMessages(await local(info), reason) : null;
    await membership.api.call("POST", `/v1/conversations/${info.token}/report`, { reason, messages: quoted?.messages ?? null });
    return { sent: quoted?.messages.length ?? 0, leftOut: quoted?.leftOut ?? 0 };
}

/**
 * The meetings of a conversation in order, each with who proposed it and whether the other member accepted it.
 * @param {LocalConversation} record
 */
export function meetings(record) {
    const payloads = record.messages.flatMap((m) => {
        try {
            return m.payload ? [{ p: decodePayload(m.payload), fromMe: m.fromMe }] : [];
        } catch {
            return [];
        }
    });
    return payloads.filter(({ p }) => p.type === "meeting").map(({ p, fromMe }) => ({
        meeting: p, fromMe,
        accepted: payloads.some((r) => r.p.type === "meeting-reply" && r.p.id === p.id && r.p.answer === "accept" && r.fromMe !== fromMe),
        answered: payloads.some((r) => (r.p.type === "meeting-reply" && r.p.id === p.id) || (r.p.type === "meeting" && r.p.replaces === p.id)),
    }));
}

/**
 * The member's own contact details, on this device only.
 * @returns {Promise<{email?: string, phone?: string, chat?: string, note?: string} | null>}
 */
export async function contactDetails() {
    const [contact] = await idbGet(["contact"]);
    return contact ?? null;
}

/**
 * Saves (or, with null, deletes) the contact details on this device.
 * @param {{email?: string, phone?: string, chat?: string, note?: string} | null} details
 */
export async function keepContactDetails(details) {
    if (details) checkPayload({ type: "contact", ...details });
    await idbPut({ contact: details ?? undefined });
}
