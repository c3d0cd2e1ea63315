#!/usr/bin/env bash
# Checks the web app's JavaScript (Sources/ReciprocityWeb/web/*.js) with TypeScript, without a build step:
# every module's JSDoc types and the DOM's, names that are not defined, properties that do not exist, calls with
# the wrong arguments, unused variables, imports and parameters, unreachable code, a function that returns on
# one path only. The options are Sources/ReciprocityWeb/tsconfig.json's, which an editor reads too.
# Needs `tsc` (Debian: apt-get install node-typescript; or npm's typescript).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tsc >/dev/null || { echo "lint-web: tsc is not installed (apt-get install node-typescript)" >&2; exit 1; }
tsc --project Sources/ReciprocityWeb --pretty false || { echo "lint-web: the web app's JavaScript has the errors above" >&2; exit 1; }
echo "lint-web: $(ls Sources/ReciprocityWeb/web/*.js | wc -l) modules type-checked, no error"
