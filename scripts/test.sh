#!/usr/bin/env bash
# The whole test suite: the Dockerfile lint and the container smoke test, the Swift tests, then both
# independent checks of the protocol vectors.
set -euo pipefail
cd "$(dirname "$0")/.."

hadolint Dockerfile
scripts/container-smoke.sh

swift build --build-tests
swift test --skip-build
swift run --skip-build reciprocity vectors verify Specs/vectors
python3 Specs/reference/reciprocity_ref.py Specs/vectors
