// @ts-check
// Every failure the web app shows, as one sentence for the member with its stable code: the server's problem
// types, the client's codes (membership.js, directory.js) and the backup file's (backup.js). Every problem code
// of the server's table (ProblemCode in ReciprocityAPI) is named here, in SENTENCES or in a list below, which
// ProblemCodeTests checks. A code is shown in kebab-case, the spelling of the server's codes: the protocol
// module's camelCase codes (`backupMalformed`, from Specs/backup.md and the vectors) too.

import { ClientError } from "./membership.js";
import { ReciprocityError } from "./reciprocity.js";

const SENTENCES = {
    "invite-invalid": "This invite does not work: the program or the invite code is wrong, or the invite is used up or has expired. Ask your program's organiser for a new link.",
    "handle-taken": "That handle is taken, or looks too much like one that is. Choose another one.",
    "key-taken": "The server already knows this key. Reload the page and try again.",
    "invalid-handle": "A handle is 3 to 64 characters of a–z, 0–9, “.”, “_” and “-”, starting with a letter or digit.",
    "invalid-program": "The program name in the link is not valid. Check the link with your organiser.",
    "program-not-found": "The server has no such program.",
    "unauthorized": "The server no longer accepts this device's credential (it was replaced or revoked). Ask your organiser to let you back in, or restore a backup.",
    "member-suspended": "Your membership is suspended. Ask your program's organiser.",
    "rate-limited": "Too many requests for now. Wait a minute and try again.",
    "rotation-limited": "You replaced your key too often (at most 3 times in 24 hours). Try again later.",
    "wrong-epoch": "The program has just moved to a new period. Try again.",
    "body-too-large": "The request was too large for the server.",
    "internal": "The server failed. Try again later; nothing was changed on this device.",
    "query-too-slow": "The search took too long. Try a narrower search.",
    "too-many-connections": "The server is busy. Try again in a moment.",
    "not-ready": "The server is not ready. Try again in a moment.",
    "http-404": "The server does not know this request (is this the right server?).",
    "request-timeout": "The request took too long to reach the server. Check your connection and try again.",
    "token-unavailable": "The server refused one of this change's marks. Try again; nothing was changed on this device.",
    "invalid-batch": "The server refused this change as malformed. Reload the page and try again.",
    "invalid-encoding": "The server refused this request as malformed. Reload the page and try again.",
    "invalid-public-key": "The server refused this device's key. Reload the page and try again.",
    "member-not-found": "The server has no member by that handle.",
    "not-found": "The server does not know this request (is this the right server?).",
    "method-not-allowed": "The server does not know this request (is this the right server?).",
    "conversation-not-found": "This conversation is not available: the match may have expired. Reload the page.",
    "conversation-ended": "This conversation was ended; it takes no new messages.",
    "conversation-full": "This conversation holds as many messages as the server keeps for one; it takes no more.",
    "messages-limited": "You have sent as many messages in this conversation as the server allows in a day. Try again later.",
    "invalid-envelope": "The server refused this message as malformed. Reload the page and try again.",
    "invalid-email": "That email address is not valid: it needs one “@” with text on both sides, and no spaces.",
    "backup-wrong-passphrase": "That passphrase does not open this backup. Check it and try again; nothing was changed.",
    "backup-damaged": "This backup file is damaged (its checksum does not match). Nothing was changed.",
    "backup-malformed": "This is not a Reciprocity key backup file. Nothing was changed.",
    "backup-unsupported-version": "This backup was made by a newer version of Reciprocity; this page cannot read it.",
    "backup-invalid-payload": "This backup opened but does not hold a key and a membership. Nothing was changed.",
    "backup-iterations-out-of-range": "This backup's settings are out of range; it was not opened.",
};

/** Problem codes whose message says what was refused (the server's detail). */
const REFUSED = ["invalid-profile", "invalid-parameter", "invalid-argument", "invalid-body", "invalid-input"];

/**
 * Problem codes shown by their message, as any client error is: worded where they arise (quota-exceeded in
 * membership.js; mark-not-found and proof-not-found are outcomes server-api.js acts on), or answered only by the
 * operator's and organizers' endpoints, which the page never calls (the console, console-ui.js, words those).
 */
const OWN_MESSAGE = [
    "quota-exceeded", "mark-not-found", "proof-not-found", "admin-disabled", "metrics-disabled", "program-exists",
    "operator-only", "invite-not-found", "organizer-not-found", "organizer-exists", "notices-off", "invalid-time",
    "time-passed", "reminder-limited",
];

/** `backupMalformed` as `backup-malformed`; a kebab-case code stays as it is. */
const kebabCase = (code) => code.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** One clear sentence for any failure. */
export function describe(error) {
    const code = typeof error?.code === "string" ? kebabCase(error.code) : error?.code;
    if (REFUSED.includes(code)) return { text: `That was refused: ${error.message}`, code };
    if (code === "unreachable") {
        return { text: error.message.includes("recorded") ? capitalise(error.message) + "." : "The server cannot be reached. Check your connection and try again; nothing was changed.", code };
    }
    if (typeof code === "string" && code.startsWith("log-")) {
        return { text: `Stopped: the server's key log failed a check, so nothing was sent. ${capitalise(error.message)}. Tell your program's organiser.`, code };
    }
    if (SENTENCES[code]) return { text: SENTENCES[code], code };
    const message = error instanceof ReciprocityError ? error.message.replace(/^\w+: /, "") : error?.message;
    if (typeof code === "string" && code.startsWith("backup-")) return { text: capitalise(message) + ".", code };
    if (error instanceof ClientError || (OWN_MESSAGE.includes(code) && typeof message === "string")) return { text: capitalise(message) + (/[.!?]$/.test(message) ? "" : "."), code };
    return { text: `Something went wrong in this page: ${message ?? error}. Nothing was sent.`, code: code ?? "page" };
}

export const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);
