#!/usr/bin/env bash
# API conformance: schemathesis (PyPI) generates requests from Specs/openapi.yaml against a live server with
# a real database, as a member; every response must match the document and none may be a 5xx.
# Bounded by MAX_EXAMPLES per operation (default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-25}"

swift build --product reciprocityd --product reciprocity
bin="$(swift build --show-bin-path)"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
db="$work/conformance.sqlite"
"$bin/reciprocityd" admin program create acme --database "$db" >/dev/null
invite="$("$bin/reciprocityd" admin invite create --program acme --uses 5 --database "$db")"
"$bin/reciprocityd" admin credential > "$work/admin"
port=$((20000 + RANDOM % 20000))
"$bin/reciprocityd" serve --database "$db" --port "$port" --admin-credential-file "$work/admin" --log-level error &
server=$!
for _ in $(seq 1 100); do "$bin/reciprocityd" healthcheck --port "$port" >/dev/null 2>&1 && break; sleep 0.1; done
for handle in alice bob; do
    RECIPROCITY_HOME="$work/$handle" "$bin/reciprocity" join --server "http://127.0.0.1:$port" --program acme \
        --invite "$invite" --handle "$handle" --offers-mentoring >/dev/null
done
credential="$(python3 -c 'import json, glob, sys; print(json.load(open(glob.glob(sys.argv[1] + "/*/acme/state.json")[0]))["credential"])' "$work/alice")"

schemathesis run Specs/openapi.yaml --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $credential" --max-examples "$examples" --seed 1 --no-color \
    --exclude-operation-id rotateCredential

# The admin operations, as the operator.
schemathesis run Specs/openapi.yaml --url "http://127.0.0.1:$port" \
    -H "Authorization: Bearer $(cat "$work/admin")" --max-examples "$examples" --seed 1 --no-color \
    --include-path-regex '^/v1/admin/'
