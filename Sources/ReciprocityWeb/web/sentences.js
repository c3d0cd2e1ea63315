// @ts-check
// Every failure the web app shows, as one sentence for the member with its stable code: the server's problem
// types, the client's codes (membership.js, directory.js) and the backup file's (backup.js).

import { ClientError } from "./membership.js";

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
    backupWrongPassphrase: "That passphrase does not open this backup. Check it and try again; nothing was changed.",
    backupDamaged: "This backup file is damaged (its checksum does not match). Nothing was changed.",
    backupMalformed: "This is not a Reciprocity key backup file. Nothing was changed.",
    backupUnsupportedVersion: "This backup was made by a newer version of Reciprocity; this page cannot read it.",
    backupInvalidPayload: "This backup opened but does not hold a key and a membership. Nothing was changed.",
    backupIterationsOutOfRange: "This backup's settings are out of range; it was not opened.",
};

/** One clear sentence for any failure. */
export function describe(error) {
    const code = error?.code;
    if (code === "invalid-profile" || code === "invalid-parameter" || code === "invalid-argument" || code === "invalid-body") {
        return { text: `That was refused: ${error.message}`, code };
    }
    if (code === "unreachable") {
        return { text: error.message.includes("recorded") ? capitalise(error.message) + "." : "The server cannot be reached. Check your connection and try again; nothing was changed.", code };
    }
    if (typeof code === "string" && code.startsWith("log-")) {
        return { text: `Stopped: the server's key log failed a check, so nothing was sent. ${capitalise(error.message)}. Tell your program's organiser.`, code };
    }
    if (SENTENCES[code]) return { text: SENTENCES[code], code };
    if (typeof code === "string" && code.startsWith("backup")) return { text: capitalise(error.message.replace(/^\w+: /, "")) + ".", code };
    if (error instanceof ClientError) return { text: capitalise(error.message) + (/[.!?]$/.test(error.message) ? "" : "."), code };
    return { text: `Something went wrong in this page: ${error?.message ?? error}. Nothing was sent.`, code: code ?? "page" };
}

export const capitalise = (text) => text.charAt(0).toUpperCase() + text.slice(1);
