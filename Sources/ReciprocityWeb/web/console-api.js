// @ts-check
// The organizer side of the server's API, /v1/admin (Specs/openapi.yaml, docs/api.md), over server-api.js's
// request (same origin, no cookie, no cache, problem+json to ClientError). The credential lives in this object
// only: in the tab's memory, never in storage or an address (console.js says why).

import { ClientError, ServerAPI } from "./server-api.js";

const ADMIN = "/v1/admin";
const path = (program, rest = "") => `${ADMIN}/programs/${encodeURIComponent(program)}${rest}`;

/** /v1/admin with an operator's or organizer's credential. */
export class AdminAPI extends ServerAPI {
    /**
     * Who the credential belongs to and which programs it may run. A server without `GET /session` (before
     * organizer credentials) accepts only the operator's credential, so any credential it accepts is the operator's.
     * @returns {Promise<{role: "operator" | "organizer", name: string | null, programs: string[]}>}
     */
    async session() {
        try {
            return await this.call("GET", `${ADMIN}/session`);
        } catch (error) {
            if (!(error instanceof ClientError) || !["not-found", "http-404"].includes(error.code)) throw error;
            return { role: "operator", name: null, programs: (await this.programs()).map((p) => p.name) };
        }
    }
    /** @returns {Promise<{name: string, epoch: number, maxMarks: number, description: string, conduct: string, nextRoundAt?: string}[]>} */
    programs() { return this.call("GET", `${ADMIN}/programs`); }
    createProgram(name, maxMarks) { return this.call("POST", `${ADMIN}/programs`, { name, maxMarks }); }
    setQuota(program, maxMarks) { return this.call("PATCH", path(program), { maxMarks }); }
    setAbout(program, description, conduct) { return this.call("PATCH", path(program, "/about"), { description, conduct }); }
    setEpoch(program, epoch) { return this.call("PUT", path(program, "/epoch"), { epoch }); }
    /** The program moves to its next round by itself at `at` (RFC 3339). */
    scheduleRound(program, at) { return this.call("PUT", path(program, "/next-round"), { at }); }
    cancelRound(program) { return this.call("DELETE", path(program, "/next-round")); }
    /**
     * @param {string} program
     * @param {number} uses
     * @param {number | null} expiresInSeconds null: never
     * @returns {Promise<{code: string, program: string, uses: number, expiresAt: string | null, id?: string}>}
     */
    createInvite(program, uses, expiresInSeconds) {
        return this.call("POST", path(program, "/invites"), expiresInSeconds ? { uses, expiresInSeconds } : { uses });
    }
    /** @returns {Promise<{id: string, usesLeft: number, expiresAt: string | null, createdAt: string, revokedAt: string | null}[]>} */
    async invites(program) { return (await this.call("GET", path(program, "/invites"))).invites; }
    revokeInvite(program, id) { return this.call("DELETE", path(program, `/invites/${encodeURIComponent(id)}`)); }
    /** @returns {Promise<{handle: string, status: string, joinedAt: string}[]>} */
    async members(program) { return (await this.call("GET", path(program, "/members"))).members; }
    /**
     * Suspends or reinstates; `reason` (optional) goes to the audit log only.
     * @param {string} program
     * @param {string} handle
     * @param {boolean} suspend
     * @param {string} reason
     */
    setStatus(program, handle, suspend, reason) {
        const action = suspend ? "suspend" : "reinstate";
        return this.call("POST", path(program, `/members/${encodeURIComponent(handle)}/${action}`), reason ? { reason } : undefined);
    }
    health(program) { return this.call("GET", path(program, "/health")); }
    /**
     * The health figures as the server's CSV file.
     * @param {string} program
     * @returns {Promise<Blob>}
     */
    async healthCSV(program) {
        let response;
        try {
            response = await fetch(path(program, "/health?format=csv"), {
                headers: { Authorization: `Bearer ${this.credential}`, Accept: "text/csv" },
                cache: "no-store", credentials: "omit", redirect: "error", referrerPolicy: "no-referrer",
            });
        } catch {
            throw new ClientError("unreachable", "cannot reach the server (connection refused, timed out or offline)");
        }
        if (!response.ok) throw new ClientError(`http-${response.status}`, `the server answered HTTP ${response.status}`);
        return response.blob();
    }
    /**
     * The program's reports from members, oldest first, with the messages each reporter chose to include.
     * @param {string} program
     * @returns {Promise<{reporter: string, reported: string, epoch: number, reason: string, messages: {seq: number, fromMe: boolean, text: string}[], createdAt: string}[]>}
     */
    async reports(program) { return (await this.call("GET", path(program, "/reports"))).reports; }
    /** @returns {Promise<{name: string, programs: string[], createdAt: string}[]>} */
    async organizers() { return (await this.call("GET", `${ADMIN}/organizers`)).organizers; }
    /**
     * @param {string} name
     * @param {string[]} programs
     * @returns {Promise<{name: string, programs: string[], credential: string, createdAt: string}>}
     */
    createOrganizer(name, programs) { return this.call("POST", `${ADMIN}/organizers`, { name, programs }); }
    removeOrganizer(name) { return this.call("DELETE", `${ADMIN}/organizers/${encodeURIComponent(name)}`); }
    /**
     * A page of the program's audit log, newest first.
     * @param {string} program
     * @param {number | null} before the `next` of the page before
     * @returns {Promise<{entries: {id: number, at: string, actor: string, action: string, subject: string | null, detail: string | null}[], next: number | null}>}
     */
    audit(program, before = null) {
        return this.call("GET", path(program, `/audit?limit=50${before === null ? "" : `&before=${before}`}`));
    }
}
