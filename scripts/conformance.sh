#!/usr/bin/env bash
# API conformance: schemathesis (PyPI) generates requests from Specs/openapi.yaml against a live server with
# a real database; every response must match the document and none may be a 5xx. Each operation runs only as
# the role that can use it (anyone, a member, the operator), with path and body values seeded from real
# handles, tokens and invites so that valid requests get 2xx answers and not only 404s. Prints per operation
# how many answers were 2xx and 4xx. Bounded by MAX_EXAMPLES per operation (default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-25}"
source scripts/tools.sh
command -v schemathesis >/dev/null || setup_python_tools

swift build --product reciprocityd --product reciprocity
bin="$(swift build --show-bin-path)"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
db="$work/conformance.sqlite"
"$bin/reciprocityd" admin program create acme --max-marks 256 --database "$db" >/dev/null
invite="$("$bin/reciprocityd" admin invite create --program acme --uses 100000 --database "$db")"
"$bin/reciprocityd" admin credential > "$work/admin"
"$bin/reciprocityd" admin credential > "$work/metrics"
port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
"$bin/reciprocityd" serve --database "$db" --port "$port" --admin-credential-file "$work/admin" \
    --metrics-credential-file "$work/metrics" --log-level error \
    --smtp-url "smtp://127.0.0.1:9" --smtp-from "conformance@example.org" &
# A relay that is never there (port 9, discard): notices are queued, so reminders answer 202, and their sends
# fail and are retried quietly; Tests/email runs a real relay.
server=$!
for _ in $(seq 1 100); do "$bin/reciprocityd" healthcheck --port "$port" >/dev/null 2>&1 && break; sleep 0.1; done
handles=(alice bob carol dave erin)
for handle in "${handles[@]}"; do
    RECIPROCITY_HOME="$work/$handle" "$bin/reciprocity" join --server "$url" --program acme \
        --invite "$invite" --handle "$handle" --offers-mentoring >/dev/null
done
# Pending marks of alice's, so that withdrawing a real token can succeed.
RECIPROCITY_HOME="$work/alice" "$bin/reciprocity" interest add bob carol dave erin --as peer --pad-to 40 >/dev/null
state() { python3 -c 'import json, glob, sys; print(json.load(open(glob.glob(sys.argv[1] + "/*/acme/state.json")[0]))[sys.argv[2]])' "$work/$1" "$2"; }
# Bob marks alice back: their match's conversation is one alice may use (the token drawn most often).
RECIPROCITY_HOME="$work/bob" "$bin/reciprocity" interest add alice --as peer >/dev/null
match="$(curl -s -H "Authorization: Bearer $(state alice credential)" "$url/v1/matches" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["matches"][0]["token"])')"
tokens="$(python3 -c 'import json, glob, sys; print(json.dumps([m["token"] for m in json.load(open(glob.glob(sys.argv[1] + "/*/acme/state.json")[0]))["marks"]] + [sys.argv[2]] * 40))' "$work/alice" "$match")"

# An invite and an organizer that the admin runs may revoke: real values for their path parameters.
"$bin/reciprocityd" admin invite create --program acme --database "$db" >/dev/null 2>&1
spare_invite="$("$bin/reciprocityd" admin invite list acme --json --database "$db" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["invites"][0]["id"])')"
"$bin/reciprocityd" admin organizer create spare-lead --program acme --database "$db" >/dev/null 2>&1

# Real values for path parameters and the join body, drawn often enough that most requests name something
# that exists; generated values still cover the rest.
cat > "$work/schemathesis.toml" <<TOML
[dictionaries]
handles = { values = $(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${handles[@]}") }
programs = { values = ["acme"] }
tokens = { values = $tokens }
invites = { values = ["$invite"] }
invite_ids = { values = ["$spare_invite"] }
organizers = { values = ["spare-lead"] }

[parameters]
"path.handle" = { dictionary = "handles", probability = 0.8 }
"path.program" = { dictionary = "programs", probability = 0.8 }
"path.token" = { dictionary = "tokens", probability = 0.8 }
"body.invite" = { dictionary = "invites", probability = 0.8 }
"path.invite" = { dictionary = "invite_ids", probability = 0.8 }
"path.name" = { dictionary = "organizers", probability = 0.8 }

# Profile text, program texts and handles have rules JSON Schema cannot state (at most 4 combining marks a
# character, no character made only of invisible code points, look-alike handles), nor can a reason's (no
# control character); an organizer or invite of a generated name or id does not exist, and a program to
# grant may not: a schema-valid value may still be 400, 404 or 409.
[[operations]]
# A message envelope must also have one of three lengths, a report's texts the plain-text rules, an email
# address exactly one @ and none of the characters a header could misread, and a round's time must be ahead
# and within 366 days (a schema states neither).
include-operation-id-regex = "^(join|updateProfile|listDirectory|adminSetProgramAbout|adminSuspendMember|adminReinstateMember|adminCreateOrganizer|adminRevokeOrganizer|adminRevokeInvite|postMessage|reportMember|setEmail|adminScheduleRound)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
# A report's body may pass 320 KiB before any of its rules is read (more messages than allowed, each long):
# then the size limit answers first, 413, which is as much a refusal as a 400.
include-operation-id = "reportMember"
checks.negative_data_rejection.expected-statuses = ["400", "401", "403", "404", "409", "413", "429"]
TOML

runs=0
conform() { # conform NAME [schemathesis options...]: one run, its requests recorded for the summary
    local name="$1"
    shift
    runs=$((runs + 1))
    echo "conformance: $name"
    schemathesis --config-file "$work/schemathesis.toml" --no-color run Specs/openapi.yaml --url "$url" \
        --max-examples "$examples" --seed 1 --report har --report-har-path "$work/$runs.har" "$@"
}
member_paths='^/v1/(me|directory|profiles|marks|matches|log|conversations|events)'
conform "anyone (no credential)" --exclude-path-regex "$member_paths|^/v1/admin/"
conform "anyone on the member routes" --include-path-regex "$member_paths"
# The event stream's answer never ends: a member's is checked by LiveEventsTests, not here.
conform "a member (alice)" -H "Authorization: Bearer $(state alice credential)" --include-path-regex "$member_paths" \
    --exclude-operation-id rotateCredential --exclude-operation-id streamEvents
# Rotating a credential ends it: carol's turn, last among the member operations.
conform "a member (carol) rotating her credential" -H "Authorization: Bearer $(state carol credential)" \
    --include-operation-id rotateCredential
# An organizer of acme: acme's routes as the operator's, any other program as a missing one, and 403
# operator-only on the operator's routes.
organizer="$("$bin/reciprocityd" admin organizer create lead --program acme --database "$db" 2>/dev/null)"
conform "an organizer (lead, of acme)" -H "Authorization: Bearer $organizer" --include-path-regex '^/v1/admin/'
conform "the operator" -H "Authorization: Bearer $(cat "$work/admin")" --include-path-regex '^/v1/admin/'
conform "the metrics scraper" -H "Authorization: Bearer $(cat "$work/metrics")" --include-operation-id metrics

python3 scripts/conformance_summary.py Specs/openapi.yaml "$work"/*.har
