#!/usr/bin/env bash
# The whole test suite: Swift tests, then both independent checks of the protocol vectors.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build --build-tests
swift test --skip-build
swift run --skip-build reciprocity vectors verify Specs/vectors
python3 Specs/reference/reciprocity_ref.py Specs/vectors
