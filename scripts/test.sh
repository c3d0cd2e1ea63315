#!/usr/bin/env bash
# The whole test suite: the Dockerfile lint and the container smoke test, the Swift tests (on SQLite and on a
# throw-away PostgreSQL cluster, scripts/postgres.sh), the CLI's check of the protocol vectors, API
# conformance against Specs/openapi.yaml (schemathesis), bounded fuzzing of every input parser, the
# independent reference check, the vector files against their JSON Schemas, the web protocol module against
# every vector in headless Chromium, the web app end to end, and the CLI's web audit against Chromium's own
# requests. Checks every external tool first and sets up its own Python tools (hadolint, schemathesis,
# cryptography, jsonschema, playwright, pytest, brotli, zstandard) in .venv-test/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
source scripts/suites.sh
check_tools
setup_python_tools

hadolint Dockerfile
scripts/lint-web.sh
scripts/lint-swift.sh
scripts/container-smoke.sh

# The store and server suites run against PostgreSQL too: a throw-away cluster unless the developer names a
# server of their own in RECIPROCITY_TEST_POSTGRES_URL.
if [[ -z "${RECIPROCITY_TEST_POSTGRES_URL:-}" ]]; then
    postgres_dir=$(mktemp -d -u "${TMPDIR:-/tmp}/reciprocity-postgres.XXXXXX")
    trap 'scripts/postgres.sh stop "$postgres_dir"' EXIT
    RECIPROCITY_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$postgres_dir")
    export RECIPROCITY_TEST_POSTGRES_URL
fi

swift build --build-tests
check_suites
# `swift test` with its arguments; when it fails, the lines naming each failure are printed again at the end,
# so that they are in the last lines of a long log (where CI shows it).
swift_test() {
    local log status=0
    log=$(mktemp)
    swift test --skip-build "$@" 2>&1 | tee "$log" || status=$?
    if [[ $status != 0 ]]; then
        echo "test.sh: swift test $* failed; its failures:" >&2
        grep -E "recorded an issue|error: |Fatal error" "$log" | cut -c1-800 >&2 || true
    fi
    rm -f "$log"
    return "$status"
}
main_suite=()
for name in "${apart_from_main[@]}"; do main_suite+=(--skip "$name"); done
# On a 2-core machine the parallel run can starve a time-bounded test (a read timeout, a probe answered late).
# A failure is therefore run again one test at a time: a real failure fails both runs; load fails only the first.
swift_test "${main_suite[@]}" || {
    echo "test.sh: the suite failed in parallel; running it again one test at a time" >&2
    swift_test --no-parallel "${main_suite[@]}"
}
# The stages of scripts/suites.sh: `filters NAME...` turns names into `--filter NAME` arguments.
filters() { local name; for name in "$@"; do printf -- '--filter\n%s\n' "$name"; done; }
mapfile -t processes < <(filters "${processes_stage[@]}")
mapfile -t partitioned < <(filters "${partitioned_stage[@]}")
mapfile -t timing < <(filters "${timing_stage[@]}")
swift_test "${processes[@]}"
# Specs/scaling.md, "One PostgreSQL, partitioned".
RECIPROCITY_TEST_POSTGRES_PARTITIONS=8 swift_test "${partitioned[@]}"
swift_test "${timing[@]}"
swift run --skip-build reciprocity vectors verify Specs/vectors
scripts/conformance.sh 25
scripts/nginx-check.sh .build/debug/reciprocityd
scripts/fuzz.sh 15
python3 Specs/reference/reciprocity_ref.py Specs/vectors
python3 Specs/reference/check_vector_schemas.py Specs/vectors
# The web tests under pytest (Tests/web/conftest.py has their fixtures and options; docs/testing.md says how to
# run one alone): the protocol module against every vector, the app end to end, the requests around changes of
# marks, key backups and the web audit. A failure fails this script, and pytest's summary, the last lines of
# its output, names each failing test.
python3 -m pytest Tests/web -p no:cacheprovider -rfE --durations=5
# Email notices against a real SMTP relay (aiosmtpd with STARTTLS and AUTH, started by the tests) and a real
# reciprocityd: delivery, headers without names, a relay outage, a kill -9, reminders (Tests/email/test_notices.py).
python3 -m pytest Tests/email -p no:cacheprovider -rfE --durations=5
