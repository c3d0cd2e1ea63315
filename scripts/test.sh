#!/usr/bin/env bash
# The whole test suite: the Dockerfile lint and the container smoke test, the Swift tests, the CLI's check
# of the protocol vectors, API conformance against Specs/openapi.yaml (schemathesis), bounded fuzzing of
# every input parser, the independent reference check, and the vector files against their JSON Schemas.
# Checks every external tool first and sets up its own Python tools (hadolint, schemathesis, cryptography,
# jsonschema) in .venv-test/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
check_tools
setup_python_tools

hadolint Dockerfile
scripts/container-smoke.sh

swift build --build-tests
swift test --skip-build --skip TakeTheSameTime
# Timing comparisons on their own, so no other test competes for the CPU while they sample.
swift test --skip-build --filter TakeTheSameTime
swift run --skip-build reciprocity vectors verify Specs/vectors
scripts/conformance.sh 25
scripts/fuzz.sh 15
python3 Specs/reference/reciprocity_ref.py Specs/vectors
python3 Specs/reference/check_vector_schemas.py Specs/vectors
python3 Tests/web/run_vectors.py --swift-cli .build/debug/reciprocity
