// @ts-check
// The member side of the server's API (Specs/openapi.yaml), a port of the Swift client's ServerAPI.swift, and
// ClientError, the failure every client module throws: a sentence for the member with a stable code (the
// server's problem code, or a client code such as `log-fork`).

import { base64urlDecode } from "./reciprocity.js";

/** A failure phrased for the member, with a stable code: the server's problem code or a client code. */
export class ClientError extends Error {
    /**
     * @param {string} code
     * @param {string} message
     */
    constructor(code, message) {
        super(message);
        this.name = "ClientError";
        this.code = code;
    }
}

const PROBLEM_PREFIX = "urn:reciprocity:problem:";

/** The member side of /v1 (Specs/openapi.yaml), same-origin only. */
export class ServerAPI {
    /**
     * @param {string | null} credential the bearer credential (none for a join)
     */
    constructor(credential = null) {
        this.credential = credential;
    }

    /**
     * @param {string} method
     * @param {string} path
     * @param {any} [body] sent as JSON
     * @returns {Promise<any>} the parsed answer, or null for 204
     */
    async call(method, path, body) {
        const headers = { Accept: "application/json" };
        if (this.credential) headers.Authorization = `Bearer ${this.credential}`;
        if (body !== undefined) headers["Content-Type"] = "application/json";
        let response, text;
        try {
            response = await fetch(path, {
                method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                cache: "no-store", credentials: "omit", redirect: "error", referrerPolicy: "no-referrer",
            });
            text = await response.text();
        } catch {
            throw new ClientError("unreachable", "cannot reach the server (connection refused, timed out or offline)");
        }
        if (!response.ok) {
            let problem = null;
            try {
                problem = JSON.parse(text);
            } catch { /* not a problem document */ }
            if (problem && typeof problem.type === "string") {
                const code = problem.type.startsWith(PROBLEM_PREFIX) ? problem.type.slice(PROBLEM_PREFIX.length) : problem.type;
                throw new ClientError(code, problem.detail ? `${problem.title}: ${problem.detail}` : String(problem.title ?? code));
            }
            throw new ClientError(`http-${response.status}`, `the server answered HTTP ${response.status}`);
        }
        if (response.status === 204 || text === "") return null;
        try {
            return JSON.parse(text);
        } catch {
            throw new ClientError("bad-response", `the server's answer to ${method} ${path.split("?")[0]} is not what the API describes`);
        }
    }

    join(program, body) { return this.call("POST", `/v1/programs/${encodeURIComponent(program)}/members`, body); }
    me() { return this.call("GET", "/v1/me"); }
    updateProfile(profile) { return this.call("PUT", "/v1/me/profile", profile); }
    /** Sets (PUT) or, for an empty address, removes (DELETE) the member's address for email notices. */
    setEmail(email) { return email ? this.call("PUT", "/v1/me/email", { email }) : this.call("DELETE", "/v1/me/email"); }
    rotateCredential() { return this.call("POST", "/v1/me/credential"); }
    rotateKey(publicKey) { return this.call("PUT", "/v1/me/key", { publicKey }); }
    /** A page of the directory's changes after `since` (none: the whole directory), for directory.js. */
    profiles(since) { return this.call("GET", "/v1/profiles" + (since ? `?since=${encodeURIComponent(since)}` : "")); }
    async pendingMarks() { return (await this.call("GET", "/v1/marks")).marks; }
    /**
     * One POST /v1/marks: `marks` submitted and `withdraw` withdrawn together.
     * @param {number} epoch
     * @param {{token: string, tag: string, note: string}[]} marks
     * @param {string[]} withdraw tokens
     * @returns {Promise<{token: string, status: string}[]>}
     */
    async submit(epoch, marks, withdraw) {
        const body = { epoch, marks };
        if (withdraw.length) body.withdraw = withdraw;
        return (await this.call("POST", "/v1/marks", body)).results;
    }
    /**
     * One DELETE /v1/marks/{token}; a mark the server no longer holds is no failure.
     * @param {string} token
     * @returns {Promise<void>}
     */
    async withdraw(token) {
        try {
            await this.call("DELETE", `/v1/marks/${token}`);
        } catch (error) {
            if (error.code !== "mark-not-found") throw error;
        }
    }
    /**
     * Every page of GET /v1/matches.
     * @returns {Promise<{token: string, handle: string, tag: string, note?: string, matchedAt: string}[]>}
     */
    async matches() {
        const all = [];
        let cursor = null;
        for (let page = 0; page < 1000; page++) {
            const response = await this.call("GET", "/v1/matches" + (cursor ? `?after=${encodeURIComponent(cursor)}` : ""));
            all.push(...response.matches);
            if (!response.nextCursor) return all;
            if (response.nextCursor === cursor || response.matches.length === 0) break;
            cursor = response.nextCursor;
        }
        throw new ClientError("server-pages", "the server's list of matches does not end");
    }
    logHead() { return this.call("GET", "/v1/log/head"); }
    async logEntries(start, limit) { return (await this.call("GET", `/v1/log/entries?start=${start}&limit=${limit}`)).entries; }
    /**
     * @param {number} from
     * @param {number} to
     * @returns {Promise<Uint8Array[] | null>} null when the server has no proof (a fork)
     */
    async consistencyProof(from, to) {
        let response;
        try {
            response = await this.call("GET", `/v1/log/consistency?from=${from}&to=${to}`);
        } catch (error) {
            if (error.code === "proof-not-found") return null; // a fork, to checkConsistent
            throw error;
        }
        try {
            return response.proof.map((step) => base64urlDecode(step, 32));
        } catch {
            throw new ClientError("log-fork", `the server's consistency proof from ${from} to ${to} entries is malformed`);
        }
    }
}
