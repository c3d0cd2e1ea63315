#!/usr/bin/env bash
# Runs compose.yaml's nginx configuration, unchanged but for its addresses and file paths, in front of a
# local reciprocityd, with a certificate made by the command compose.yaml documents, and checks:
#   - nginx accepts the configuration (nginx -t) and serves only over TLS;
#   - every path of Specs/openapi.yaml is logged as its route pattern;
#   - no access-log line holds a request's token, handle, program name or query;
#   - the error log holds none of them either.
# No container engine is needed: Debian's nginx (apt-get install nginx), openssl, curl, python3.
#   scripts/nginx-check.sh [PATH/TO/reciprocityd]     (default: .build/debug/reciprocityd)
set -euo pipefail
cd "$(dirname "$0")/.."
server_binary=${1:-.build/debug/reciprocityd}
for tool in nginx openssl curl python3; do
    command -v "$tool" >/dev/null || { echo "nginx-check: $tool is not installed" >&2; exit 1; }
done
[[ -x "$server_binary" ]] || { echo "nginx-check: no reciprocityd at $server_binary (swift build)" >&2; exit 1; }

dir="$(mktemp -d)"
nginx_pid=""
server=""
cleanup() {
    [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null || true
    [[ -n "$server" ]] && kill "$server" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
upstream_port=$(free_port)
tls_port=$(free_port)

# The certificate, as compose.yaml says to make it.
mkdir -p "$dir/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=reciprocity.example" -addext "subjectAltName=DNS:reciprocity.example,DNS:localhost" \
    -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" 2>/dev/null
chmod 600 "$dir/tls/key.pem"

# compose.yaml's nginx config (configs.nginx.content), with Compose's $$ unescaped, the two instances replaced
# by the local server, and the paths moved into the temporary folder.
python3 - compose.yaml "$dir/default.conf" "$upstream_port" "$tls_port" "$dir" <<'PY'
import re, sys
source, target, upstream, port, folder = sys.argv[1:]
lines = open(source).read().split("\n")
start = lines.index("    content: |") + 1
body = []
for line in lines[start:]:
    if line.strip() and not line.startswith("      "):
        break
    body.append(line[6:])
text = "\n".join(body).replace("$$", "$")
text = re.sub(r"server reciprocity-a:8080[^;]*;", f"server 127.0.0.1:{upstream};", text)
text = re.sub(r"\s*server reciprocity-b:8080[^;]*;", "", text)
text = text.replace("listen 8443 ssl;", f"listen 127.0.0.1:{port} ssl;")
text = text.replace("/etc/nginx/tls/", f"{folder}/tls/").replace("/var/log/nginx/", f"{folder}/")
open(target, "w").write(text)
PY
cat > "$dir/nginx.conf" <<EOF
user root;
daemon off;
pid $dir/nginx.pid;
error_log $dir/startup.log;
events {}
http {
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/default.conf;
}
EOF

passed=0
failed=0
check() {
    if "$@"; then passed=$((passed + 1)); echo "ok   $*"; else failed=$((failed + 1)); echo "FAIL $*"; fi
}
check nginx -t -q -p "$dir" -c "$dir/nginx.conf"

admin="$("$server_binary" admin credential)"
RECIPROCITY_PORT=$upstream_port RECIPROCITY_DATABASE="$dir/reciprocity.sqlite" RECIPROCITY_ADMIN_CREDENTIAL="$admin" \
    "$server_binary" serve 2>"$dir/server.log" &
server=$!
nginx -p "$dir" -c "$dir/nginx.conf" &
nginx_pid=$!
for _ in $(seq 1 100); do
    curl -sf --cacert "$dir/tls/cert.pem" "https://localhost:$tls_port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
request() { curl -s -o /dev/null -w '%{http_code}' --cacert "$dir/tls/cert.pem" "$@"; }

# Over TLS, with the certificate the documented command made; never in clear.
check test "$(request "https://localhost:$tls_port/healthz")" = 200
check test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tls_port/healthz")" = 400

# Every path of the spec, with distinctive values in its parameters and a token in the query.
secret=$(openssl rand -hex 32)
program="prog$(openssl rand -hex 6)"
handle="hand$(openssl rand -hex 6)"
request -X POST -H "Authorization: Bearer $admin" -d "{\"name\":\"$program\"}" \
    "https://localhost:$tls_port/v1/admin/programs" >/dev/null
python3 - Specs/openapi.yaml "$secret" "$program" "$handle" >"$dir/paths" <<'PY'
import re, sys
spec, token, program, handle = sys.argv[1:]
values = {"token": token, "program": program, "handle": handle, "asset": "app.js", "name": handle, "invite": token}
for line in open(spec):
    match = re.match(r"^  (/[^:]*):\s*$", line)
    if match:
        route = match.group(1)
        path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], route)
        print(route, path)
PY
routes=0
while read -r route path; do
    for method in GET POST DELETE; do
        request -X "$method" "https://localhost:$tls_port$path?after=$secret&handle=$handle" >/dev/null
        routes=$((routes + 1))
    done
done <"$dir/paths"
check test "$routes" -gt 60
# Each request's line names its route, and nothing else from its URI.
sleep 0.5
kill "$nginx_pid"
wait "$nginx_pid" 2>/dev/null || true
nginx_pid=""
check python3 - "$dir/access.log" "$dir/paths" <<'PY'
import sys
log, paths = sys.argv[1:]
lines = open(log).read().splitlines()
for route, _ in (line.split() for line in open(paths)):
    for method in ("GET", "POST", "DELETE"):
        if not any(f'"{method} {route}"' in line for line in lines):
            sys.exit(f"no access-log line for {method} {route}")
PY
check test -z "$(grep -l -e "$secret" -e "$handle" -e "$program" -e 'after=' "$dir"/access.log "$dir"/error.log "$dir"/startup.log 2>/dev/null)"
check test "$(grep -c '"' "$dir/access.log")" -ge "$routes"

echo "nginx-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
