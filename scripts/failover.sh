#!/usr/bin/env bash
# Failover on PostgreSQL, step by step, as an operator would do it, with the checks automated:
#
#   scripts/failover.sh run        the whole drill (needs a debug build: swift build --build-tests)
#
# 1. A primary cluster and a streaming replica made with `pg_basebackup -R`, and synchronous replication
#    (`synchronous_standby_names = '*'`, `synchronous_commit = on`): a commit, and so an acknowledged mark,
#    is on the replica before the server answers.
# 2. FailoverTests (Tests/ReciprocityServerTests/FailoverTests.swift) starts two reciprocityd on the primary,
#    joins members, makes matches, records the key-log heads clients saw, then runs a write storm and, in
#    the middle of it, calls `scripts/failover.sh kill-primary DIR` (kill -9 of the primary's postmaster)
#    and `scripts/failover.sh promote DIR` (pg_ctl promote on the replica). It restarts the servers on the
#    replica's URL and checks that every acknowledged mark and every match is there, and that the key log
#    verifies against the heads clients saw before (a consistency proof from each old head to the new).
# 3. Everything is removed afterwards.
#
# The steps on their own: start DIR (prints PRIMARY_URL and REPLICA_URL lines), kill-primary DIR, promote DIR,
# stop DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=""
for dir in "${PG_BINDIR:-}" /usr/lib/postgresql/*/bin; do
    if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then bin=$dir; break; fi
done
[[ -n "$bin" ]] || { echo "failover.sh: PostgreSQL's server is not installed (apt-get install postgresql)" >&2; exit 1; }
as_owner() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start() {
    local dir=$1
    mkdir -p "$dir"
    [[ $(id -u) == 0 ]] && chown postgres: "$dir"
    local primary_url replica_port password primary_port
    primary_url=$(scripts/postgres.sh start "$dir/primary")
    password=$(cat "$dir/primary/password")
    primary_port=$(sed -E 's/.*:([0-9]+)\/.*/\1/' <<<"$primary_url")
    # Synchronous replication: commits wait for the replica.
    as_owner "$bin/psql" -q -h "$dir/primary" -p "$primary_port" -U postgres -d postgres \
        -c "ALTER SYSTEM SET synchronous_standby_names = '*'" -c "SELECT pg_reload_conf()" >/dev/null
    # The replica: a base backup of the running primary, -R writes standby.signal and primary_conninfo.
    replica_port=$(free_port)
    mkdir -p "$dir/replica"
    [[ $(id -u) == 0 ]] && chown postgres: "$dir/replica"
    as_owner env PGPASSWORD="$password" "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
        -D "$dir/replica/data" -R -X stream -c fast
    as_owner "$bin/pg_ctl" -D "$dir/replica/data" -l "$dir/replica/server.log" -w -o \
        "-p $replica_port -k $dir/replica -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
    # Wait until the replica streams synchronously.
    for _ in $(seq 1 100); do
        state=$(as_owner "$bin/psql" -Atq -h "$dir/primary" -p "$primary_port" -U postgres -d postgres \
            -c "SELECT sync_state FROM pg_stat_replication" || true)
        [[ "$state" == sync ]] && break
        sleep 0.1
    done
    [[ "$state" == sync ]] || { echo "failover.sh: the replica did not become synchronous" >&2; exit 1; }
    echo "PRIMARY_URL=$primary_url"
    echo "REPLICA_URL=postgres://postgres:$password@127.0.0.1:$replica_port/postgres?sslmode=disable"
}

kill_primary() {
    local dir=$1
    kill -9 "$(head -1 "$dir/primary/data/postmaster.pid")"
}

promote() {
    local dir=$1
    as_owner "$bin/pg_ctl" -D "$dir/replica/data" -w promote >/dev/null
    # The replica inherited synchronous_standby_names from the primary (the base backup copies
    # postgresql.auto.conf); with no standby of its own every commit would wait forever. Run without one
    # until a new replica is attached (then set it again).
    local port
    port=$(sed -n 4p "$dir/replica/data/postmaster.pid")
    as_owner "$bin/psql" -q -h "$dir/replica" -p "$port" -U postgres -d postgres \
        -c "ALTER SYSTEM RESET synchronous_standby_names" -c "SELECT pg_reload_conf()" >/dev/null
}

stop() {
    local dir=$1
    if [[ -d "$dir/replica/data" ]]; then
        as_owner "$bin/pg_ctl" -D "$dir/replica/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    scripts/postgres.sh stop "$dir/primary"
    rm -rf "$dir"
}

case "${1:-}" in
start) start "$2" ;;
kill-primary) kill_primary "$2" ;;
promote) promote "$2" ;;
stop) stop "$2" ;;
run)
    dir=$(mktemp -d -u "${TMPDIR:-/tmp}/reciprocity-failover.XXXXXX")
    trap 'stop "$dir"' EXIT
    eval "$(start "$dir" | sed 's/^/export RECIPROCITY_FAILOVER_/')"
    export RECIPROCITY_FAILOVER_DIR=$dir
    swift test --skip-build --filter FailoverTests
    ;;
*)
    echo "usage: $0 run | start DIR | kill-primary DIR | promote DIR | stop DIR" >&2
    exit 2
    ;;
esac
