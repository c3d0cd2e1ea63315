#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, in a folder of its own, on a loopback port.
#   scripts/postgres.sh start DIR   creates DIR, starts a cluster there, prints its postgres:// URL
#   scripts/postgres.sh stop DIR    stops the cluster and removes DIR
# PostgreSQL refuses to run as root: as root, the cluster runs as the 'postgres' user (Debian's package
# creates it). Connections over TCP need the password, which is random and lives only in the printed URL;
# the Unix socket in DIR takes the owner without one. fsync stays on: the crash tests rely on it.
set -euo pipefail

bindir() {
    local dir
    for dir in "${PG_BINDIR:-}" /usr/lib/postgresql/*/bin; do
        if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return; fi
    done
    echo "postgres.sh: PostgreSQL's server is not installed (apt-get install postgresql)" >&2
    exit 1
}

as_owner() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

command=${1:-}
dir=${2:-}
[[ -n "$command" && -n "$dir" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
bin=$(bindir)

case "$command" in
start)
    mkdir -p "$dir"
    [[ $(id -u) == 0 ]] && chown postgres: "$dir"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
    as_owner bash -c "umask 077; printf '%s\n' '$password' > '$dir/password'"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$dir/password" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
        "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres:$password@127.0.0.1:$port/postgres?sslmode=disable"
    ;;
stop)
    if [[ -d "$dir/data" ]]; then as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
