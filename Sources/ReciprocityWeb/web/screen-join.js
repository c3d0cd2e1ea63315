// @ts-check
// The join form: a new key pair made here, then POST /v1/programs/{program}/members (Membership.join).

import { ClientError, Membership } from "./membership.js";
import { $, act, say } from "./ui.js";
import { session } from "./session.js";
import { enterApp, showScreen } from "./navigation.js";
import { profileFrom } from "./screen-profile.js";
import { hasAbout } from "./program-about.js";

$("join-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.target;
    act(form.querySelector("button[type=submit]"), async () => {
        const data = new FormData(form);
        const program = String(data.get("program")).trim();
        const invite = String(data.get("invite")).trim();
        const handle = String(data.get("handle")).trim();
        const profile = profileFrom(form);
        if (!program || !invite) throw new ClientError("missing", "Give the program and the invite code from your invite link");
        if (!handle) throw new ClientError("missing", "Choose a handle");
        if (!profile.displayName) throw new ClientError("missing", "Give a display name");
        try {
            session.membership = await Membership.join({ program, invite, handle, profile });
        } catch (error) {
            // A failure after the server accepted the join keeps the membership (its credential is stored).
            session.membership = await Membership.open();
            if (!session.membership) throw error;
            enterApp();
            await showScreen("profile");
            throw error;
        }
        history.replaceState(null, "", "/");
        enterApp();
        // A program the operator described opens on its description and code of conduct (program-about.js).
        await showScreen(hasAbout(session.membership.lastMe?.program) ? "about" : "profile");
        say(`Welcome! You joined ${program} as ${session.membership.state.handle}.`);
    });
});
