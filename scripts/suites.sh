# The Swift test suites scripts/test.sh runs apart from the main run, in one place. A name is a `swift test`
# filter: it selects every test whose full name (Target.Suite/test()) contains it. `check_suites` (run by
# test.sh after the build) fails when a name here selects no test, so a renamed or moved suite cannot
# silently drop out of a stage.

# Several server processes on one PostgreSQL, run on their own so their load does not slow the main run's
# time-bounded tests.
processes_stage=(MultiProcessTests FailoverTests)
# Run again on PostgreSQL with marks and matches split into hash partitions (scripts/partition-by-token.sql).
partitioned_stage=(StoreConformanceTests MarkAPITests MultiProcessTests ConversationAPITests ConversationPrivacyTests)
# Timing comparisons, on their own so no other test competes for the CPU while they sample.
timing_stage=(TakeTheSameTime)
# The main run is every test except the stages run apart (the partitioned stage repeats suites of the main
# run on another database, so it is not skipped there).
apart_from_main=("${processes_stage[@]}" "${timing_stage[@]}")

# `check_suites`: every name above selects at least one test of `swift test list` (the build must be done).
check_suites() {
    local listed name missing=0
    listed=$(swift test list --skip-build 2>/dev/null) || { echo "check_suites: swift test list failed" >&2; return 1; }
    for name in "${processes_stage[@]}" "${partitioned_stage[@]}" "${timing_stage[@]}"; do
        grep -qF -- "$name" <<<"$listed" || { echo "scripts/suites.sh: '$name' selects no test" >&2; missing=1; }
    done
    return "$missing"
}
