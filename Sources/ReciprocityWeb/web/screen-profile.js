// @ts-check
// The Profile screen, and the profile form both it and the join form use.

import { ClientError } from "./membership.js";
import { $, act, el, say } from "./ui.js";
import { heldMembership, redraw } from "./session.js";

let myProfile = null;

/**
 * The member's profile as the Profile screen last drew it (null before), for the directory's suggestions.
 * @returns {object | null}
 */
export function lastProfile() {
    return myProfile;
}

/**
 * Forgets the profile drawn last (a membership restored).
 * @returns {void}
 */
export function forgetProfile() {
    myProfile = null;
}

/**
 * The profile a join or profile form holds.
 * @param {HTMLFormElement} form
 * @returns {{displayName: string, headline: string, tags: string[], offersMentoring: boolean, seeksMentoring: boolean}}
 */
export function profileFrom(form) {
    const data = new FormData(form);
    return {
        displayName: String(data.get("displayName") ?? "").trim(),
        headline: String(data.get("headline") ?? "").trim(),
        tags: String(data.get("tags") ?? "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean),
        offersMentoring: data.get("offersMentoring") === "on",
        seeksMentoring: data.get("seeksMentoring") === "on",
    };
}

function fillProfileForm(prefix, profile) {
    $(`${prefix}-name`).value = profile.displayName;
    $(`${prefix}-headline`).value = profile.headline ?? "";
    $(`${prefix}-tags`).value = (profile.tags ?? []).join(", ");
    $(`${prefix}-offers`).checked = !!profile.offersMentoring;
    $(`${prefix}-seeks`).checked = !!profile.seeksMentoring;
}

/**
 * Draws the Profile screen from the last poll's GET /v1/me.
 * @returns {void}
 */
export function render() {
    const me = heldMembership().lastMe;
    if (!me) return; // the refresh failed and says so; nothing to show yet
    myProfile = me.member.profile;
    const p = myProfile;
    $("profile-view").replaceChildren(
        el("dt", {}, "Handle"), el("dd", {}, me.member.handle),
        el("dt", {}, "Program"), el("dd", {}, me.program.name),
        el("dt", {}, "Display name"), el("dd", {}, p.displayName),
        el("dt", {}, "Headline"), el("dd", {}, p.headline || "—"),
        el("dt", {}, "Tags"), el("dd", {}, p.tags.length ? p.tags.join(", ") : "—"),
        el("dt", {}, "Open to mentoring"), el("dd", {}, p.offersMentoring ? "Yes" : "No"),
        el("dt", {}, "Looking for a mentor"), el("dd", {}, p.seeksMentoring ? "Yes" : "No"));
    fillProfileForm("profile", p);
    $("email-address").value = me.email ?? "";
}

$("profile-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.target.querySelector("button[type=submit]"), async () => {
        const profile = profileFrom(event.target);
        if (!profile.displayName) throw new ClientError("missing", "Give a display name");
        await heldMembership().updateProfile(profile);
        await redraw();
        say("Profile saved.");
    });
});

$("email-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(event.target.querySelector("button[type=submit]"), async () => {
        const email = String(new FormData(event.target).get("email") ?? "").trim();
        const membership = heldMembership();
        await membership.api.setEmail(email);
        if (membership.lastMe) membership.lastMe = { ...membership.lastMe, email: email || undefined };
        await redraw();
        say(email ? "Email notices will go to that address. The server's operator can read it." : "Email address removed: you get no email.");
    });
});
