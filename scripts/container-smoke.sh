#!/usr/bin/env bash
# Runs the release binary exactly as the container image would: the Dockerfile's build command, its
# environment variables, a /data-like folder owned by an unprivileged user, the admin credential as a
# secret file, the HEALTHCHECK command, and SIGTERM for shutdown. No container engine is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

swift build -c release --product reciprocityd --static-swift-stdlib
bin="$(swift build -c release --show-bin-path)"
root="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$root"' EXIT
mkdir -p "$root/app" "$root/data" "$root/secrets"
cp "$bin/reciprocityd" "$root/app/"
cp -R "$bin"/*.resources "$root/app/"
"$root/app/reciprocityd" admin credential > "$root/secrets/reciprocity_admin"
"$root/app/reciprocityd" admin credential > "$root/secrets/reciprocity_metrics"
chmod 755 "$root"

# The image runs as uid 10001; as root, do the same by number: no user is created, so none is left behind.
as_user=()
owner="$(id -u)"
if [ "$owner" = 0 ]; then
    owner=10001
    chown -R "$owner:$owner" "$root/data" "$root/secrets"
    chmod 700 "$root/secrets"
    as_user=(setpriv --reuid="$owner" --regid="$owner" --clear-groups)
fi

port=$((20000 + RANDOM % 20000))
image_env=(
    RECIPROCITY_HOST=0.0.0.0 RECIPROCITY_PORT="$port" RECIPROCITY_DATABASE="$root/data/reciprocity.sqlite"
    RECIPROCITY_LOG_FORMAT=json RECIPROCITY_ADMIN_CREDENTIAL_FILE="$root/secrets/reciprocity_admin"
    RECIPROCITY_METRICS_CREDENTIAL_FILE="$root/secrets/reciprocity_metrics"
)
(cd "$root/data" && exec env -i PATH=/usr/bin:/bin "${image_env[@]}" "${as_user[@]}" "$root/app/reciprocityd" serve) \
    2> "$root/server.log" &
server=$!

passed=0
failed=0
check() {
    if "$@"; then passed=$((passed + 1)); echo "ok   $*"; else failed=$((failed + 1)); echo "FAIL $*"; fi
}
healthy() { env -i "${image_env[@]}" "${as_user[@]}" "$root/app/reciprocityd" healthcheck >/dev/null 2>&1; }

for _ in $(seq 1 100); do healthy && break; sleep 0.1; done
check healthy
admin="$(cat "$root/secrets/reciprocity_admin")"
check test "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $admin" \
    -d '{"name":"smoke"}' "http://127.0.0.1:$port/v1/admin/programs")" = 201
check test "$(stat -c %u "$root/data/reciprocity.sqlite")" = "$owner"
check test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")" = 401
check test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$root/secrets/reciprocity_metrics")" \
    "http://127.0.0.1:$port/metrics")" = 200
# The web app comes from the ReciprocityWeb resource bundle copied beside the binary: served byte for byte.
check cmp -s <(curl -s "http://127.0.0.1:$port/web/index.html") Sources/ReciprocityWeb/web/index.html

kill -TERM "$server"
status=0
wait "$server" || status=$?
check test "$status" = 0
check grep -q '"message":"stopped; database closed"' "$root/server.log"
check python3 -c 'import json, sys; [json.loads(line) for line in open(sys.argv[1]) if line.strip()]' "$root/server.log"
check test "$(env -i "${image_env[@]}" "$root/app/reciprocityd" admin program list | cut -f1)" = smoke

echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
