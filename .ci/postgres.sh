#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests that need one (tests/tuning/test_postgres.py).
#
#   eval "$(bash .ci/postgres.sh start)"   # installs the server if missing, starts it on a free
#                                          # port of 127.0.0.1, creates the database wfsim, and
#                                          # prints the exports: WFSIM_TEST_POSTGRES (the URL) and
#                                          # WFSIM_POSTGRES_DIR (its data, logs and socket)
#   bash .ci/postgres.sh stop              # stops it and removes WFSIM_POSTGRES_DIR
#
# As root (CI) the server runs as the user postgres, which it refuses to run as root.
set -euo pipefail

start() {
    if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
        dpkg -s postgresql-15 >/dev/null 2>&1 || (apt-get update && apt-get install -y postgresql) >&2
    fi
    local bin dir port as=()
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    dir=$(mktemp -d "${TMPDIR:-/tmp}/wfsim-postgres.XXXXXX")
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir"
        as=(runuser -u postgres --)
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres wfsim
    echo "export WFSIM_POSTGRES_DIR=$dir WFSIM_POSTGRES_BIN=$bin"
    echo "export WFSIM_TEST_POSTGRES=postgresql://postgres@127.0.0.1:$port/wfsim"
}

stop() {
    local dir=${WFSIM_POSTGRES_DIR:-} as=()
    [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$WFSIM_POSTGRES_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"   # made by start, holds only the server's files
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
