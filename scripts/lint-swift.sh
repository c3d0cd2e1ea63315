#!/usr/bin/env bash
# Checks every Swift file of the three packages (the main one, Benchmarks/, Fuzz/) against .swift-format with
# the toolchain's own `swift format` (Swift 6 and later): 4-space indentation, 120 columns, ordered imports and
# the rest of its default rules. `scripts/lint-swift.sh --fix` rewrites the files in place instead.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Plugins Benchmarks/Package.swift Benchmarks/Sources Fuzz/Package.swift Fuzz/Sources)
if [[ "${1:-}" == --fix ]]; then
    exec swift format format --in-place --recursive --parallel "${paths[@]}"
fi
swift format lint --strict --recursive --parallel "${paths[@]}" \
    || { echo "lint-swift: the lines above differ from .swift-format's style (scripts/lint-swift.sh --fix rewrites them)" >&2; exit 1; }
echo "lint-swift: $(find "${paths[@]}" -name '*.swift' | wc -l) Swift files match .swift-format"
