#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ and runs each for SECONDS (default 20) from its seed corpus.
# Longer runs: scripts/fuzz.sh 3600, or run one target by hand (see docs/testing.md). A crash leaves a crash-* file
# in Fuzz/ and makes this script fail; turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds="${1:-20}"
flags=(-c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld --scratch-path .build-fuzz)
swift build "${flags[@]}"
bin="$(swift build "${flags[@]}" --show-bin-path)"
total=0
for target in FuzzBase64URL FuzzNames FuzzVectorFile FuzzAPIBodies FuzzConversation; do
    work="$(mktemp -d)"
    cp Corpus/"$target"/* "$work"/
    log="$work/log"
    SWIFT_BACKTRACE=enable=no "$bin/$target" -max_total_time="$seconds" -print_final_stats=1 "$work" 2> "$log" \
        || { tail -40 "$log"; echo "fuzz: $target crashed"; exit 1; }
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
    echo "fuzz: $target ran $runs inputs in ${seconds}s without a crash"
    total=$((total + runs))
    rm -rf "$work"
done
echo "fuzz: $total inputs in total"
