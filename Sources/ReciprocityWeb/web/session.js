// @ts-check
// What the screens share: the membership this page holds (null before a join or a restore, and after "Forget
// this device"), the screen shown, and each screen's renderer (app.js registers them).
//
// What the server sees must not depend on which screen the member looks at or which change they made (issue
// #23, Specs/client.md section 3): every screen is shown after the same refresh, one poll (GET /v1/me, the key
// log, GET /v1/matches, GET /v1/marks; navigation.js), and then drawn from this device's state alone; an action
// that changes marks (add, a new note, withdraw, trust, a key rotation) is followed by no request at all, only by
// drawing the screen again (`redraw`). Matches and changed keys it caused show at the next poll (at most POLL_MS
// later, screen-matches.js).

import { ClientError } from "./server-api.js";

/** @type {{membership: import("./membership.js").Membership | null, current: string | null, directory: import("./directory.js").DirectoryReplica | null, conversation: string | null, conversations: import("./conversations.js").ConversationInfo[]}} */
export const session = {
    /** The Membership (membership.js), or null. */
    membership: null,
    /** The directory replica of this membership's program (screen-directory.js keeps it), or null. */
    directory: null,
    /** The name of the screen shown ("profile", "directory", ...), or null. */
    current: null,
    /** The token of the conversation the Conversation screen shows (screen-conversation.js), or null. */
    conversation: null,
    /** The conversations of verified matches, as the last poll listed them (screen-matches.js). */
    conversations: [],
};

/**
 * The membership this page holds, for the screens and actions that exist only with one; a ClientError (which
 * the page shows) when it holds none, as after "Forget this device".
 * @returns {import("./membership.js").Membership}
 */
export function heldMembership() {
    if (!session.membership) throw new ClientError("no-membership", "this page holds no membership now; join or restore one first");
    return session.membership;
}

/**
 * name -> a function drawing that screen from this device's state, with no request of its own.
 * @type {Record<string, () => void | Promise<void>>}
 */
export const renderers = {};

/**
 * Draws the current screen again from this device's state, without a request.
 * @returns {void | Promise<void>}
 */
export function redraw() {
    return session.current === null ? undefined : renderers[session.current]?.();
}
