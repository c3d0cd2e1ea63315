// @ts-check
// Live delivery: GET /v1/events (docs/api.md), read with fetch() streaming because EventSource cannot send the
// bearer header. The stream says only `event: changed`; on each, the page runs the same poll as its timer
// (screen-matches.js), so what it then asks the server does not depend on anything the event could carry. When
// the stream fails or ends, the page waits and connects again; the timer's poll goes on meanwhile (the fallback).

import { session } from "./session.js";
import { pollMatches } from "./screen-matches.js";

/** @type {AbortController | null} */
let controller = null;
let polling = false;
let again = false;

/** One poll at a time; an event during a poll asks for one more after it. */
async function changed() {
    if (polling) {
        again = true;
        return;
    }
    polling = true;
    try {
        do {
            again = false;
            await pollMatches({ quiet: true });
        } while (again);
    } finally {
        polling = false;
    }
}

/**
 * Reads one stream to its end, calling `changed` for each `changed` event.
 * @param {AbortSignal} signal
 */
async function follow(signal) {
    const credential = session.membership?.state.credential;
    if (!credential) return;
    const response = await fetch("/v1/events", {
        headers: { Accept: "text/event-stream", Authorization: `Bearer ${credential}` },
        cache: "no-store", credentials: "omit", redirect: "error", referrerPolicy: "no-referrer", signal,
    });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let event = "";
    for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, end).replace(/\r$/, "");
            buffer = buffer.slice(end + 1);
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line === "") {
                if (event === "changed") changed();
                event = "";
            }
        }
        if (buffer.length > 4096) buffer = ""; // a line that long is not this API's
    }
}

/**
 * Keeps one stream open while the page holds a membership; reconnects after 2, 4, ... up to 60 seconds.
 * @returns {void}
 */
export function startEvents() {
    if (controller) return;
    const own = new AbortController();
    controller = own;
    (async () => {
        let wait = 2000;
        while (!own.signal.aborted) {
            const opened = Date.now();
            try {
                await follow(own.signal);
            } catch { /* the poll's timer carries on */ }
            if (own.signal.aborted) return;
            if (Date.now() - opened > 60_000) wait = 2000;
            await new Promise((resolve) => setTimeout(resolve, wait));
            wait = Math.min(wait * 2, 60_000);
        }
    })();
}

/**
 * Closes the stream ("Forget this device").
 * @returns {void}
 */
export function stopEvents() {
    controller?.abort();
    controller = null;
}
