#!/usr/bin/env bash
# Usage: scripts/test-services.sh CMD [ARGS...]
#
# Makes sure a PostgreSQL and a Redis are available for the test suite,
# exports TALONARIO_TEST_DATABASE_URL (a server/maintenance URL; the tests
# create their own databases in it) and TALONARIO_TEST_REDIS_URL, runs CMD,
# tears down whatever it started, and exits with CMD's exit code.
#
# For each service, independently:
#   1. the variable is already set      -> used as is;
#   2. a server answers on the default  -> postgresql+psycopg://postgres@127.0.0.1:5432/postgres
#      local port                          redis://127.0.0.1:6379/0
#   3. otherwise a throwaway server is started on a free port in a temp dir
#      (the packages are installed with apt-get only when the binaries are missing).
set -euo pipefail

PROG=test-services

if [ "$#" -eq 0 ]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

log() { echo "$PROG: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Hide any password in a URL (user:secret@host, ?password=secret).
mask_url() {
    printf '%s' "$1" | sed -E \
        -e 's#(://[^:/@]*):[^@/]*@#\1:***@#' \
        -e 's#([?&]password=)[^&]*#\1***#g'
}

# ---------------------------------------------------------------- helpers

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || die "apt-get not available; install $* by hand"
    if [ "$APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >&2
}

# Is something listening on HOST PORT?
tcp_open() {
    python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
except OSError:
    sys.exit(1)
PY
}

pg_answers() { # HOST PORT
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$1" -p "$2" >/dev/null 2>&1
    else
        tcp_open "$1" "$2"
    fi
}

redis_answers() { # HOST PORT
    if command -v redis-cli >/dev/null 2>&1; then
        [ "$(redis-cli -h "$1" -p "$2" ping 2>/dev/null)" = PONG ]
    else
        python3 - "$1" "$2" <<'PY'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        ok = s.recv(64).startswith(b"+PONG")
except OSError:
    ok = False
sys.exit(0 if ok else 1)
PY
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# ---------------------------------------------------------------- teardown

PG_TMP=""
PG_BIN=""
PG_PORT=""
REDIS_TMP=""
REDIS_PORT=""

# Run a command as the postgres system user when we are root (initdb and
# postgres refuse to run as root); as ourselves otherwise.
as_pg() {
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u postgres -- "$@"
    else
        su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
    fi
}

# shellcheck disable=SC2317  # only reached through the EXIT trap
teardown() {
    local pid
    if [ -n "$PG_TMP" ]; then
        if [ -f "$PG_TMP/data/postmaster.pid" ]; then
            if ! (cd "$PG_TMP" && as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast -w stop \
                >/dev/null 2>&1); then
                pid=$(head -n1 "$PG_TMP/data/postmaster.pid" 2>/dev/null || true)
                if [ -n "$pid" ]; then kill -QUIT "$pid" 2>/dev/null || true; fi
            fi
        fi
        rm -rf "$PG_TMP"
        PG_TMP=""
    fi
    if [ -n "$REDIS_TMP" ]; then
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        pid=$(cat "$REDIS_TMP/redis.pid" 2>/dev/null || true)
        if [ -n "$pid" ]; then
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -rf "$REDIS_TMP"
        REDIS_TMP=""
    fi
}

# shellcheck disable=SC2317  # only reached through the EXIT trap
on_exit() {
    local rc=$?
    trap - EXIT INT TERM
    teardown
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- PostgreSQL

find_pg_bin() {
    local best
    # Newest version first (sort -V: 9 < 10 < 15).
    best=$(for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; fi
    done | sort -V | tail -n1)
    if [ -z "$best" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        best=$(dirname "$(command -v initdb)")
    fi
    printf '%s' "$best"
}

start_postgres() {
    PG_BIN=$(find_pg_bin)
    if [ -z "$PG_BIN" ]; then
        apt_install postgresql
        PG_BIN=$(find_pg_bin)
        [ -n "$PG_BIN" ] || die "PostgreSQL installed but initdb/pg_ctl not found"
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        die "running as root but there is no 'postgres' system user to run the server"
    fi

    PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/talonario-pg.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$PG_TMP"
    fi
    PG_PORT=$(free_port)

    local locale_opt=--no-locale
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        locale_opt=--locale=C.UTF-8
    fi
    (cd "$PG_TMP" && as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres \
        -E UTF8 "$locale_opt" >"$PG_TMP/initdb.log" 2>&1) || {
        cat "$PG_TMP/initdb.log" >&2 || true
        die "initdb failed"
    }
    # -F: no fsync; this cluster is thrown away when the command ends.
    (cd "$PG_TMP" && as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -w -t 60 \
        -o "-F -k $PG_TMP -p $PG_PORT -h 127.0.0.1" start >/dev/null 2>&1) || {
        cat "$PG_TMP/postgres.log" >&2 || true
        die "PostgreSQL did not start"
    }
    local i
    for i in $(seq 1 100); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && return 0
        [ "$i" -eq 100 ] || sleep 0.2
    done
    cat "$PG_TMP/postgres.log" >&2 || true
    die "PostgreSQL on port $PG_PORT is not accepting connections"
}

# ---------------------------------------------------------------- Redis

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        apt_install redis-server
    fi
    REDIS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/talonario-redis.XXXXXX")
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize yes --pidfile "$REDIS_TMP/redis.pid" --dir "$REDIS_TMP" \
        --logfile "$REDIS_TMP/redis.log" >/dev/null ||
        die "redis-server did not start"
    local i
    for i in $(seq 1 100); do
        redis_answers 127.0.0.1 "$REDIS_PORT" && return 0
        [ "$i" -eq 100 ] || sleep 0.1
    done
    cat "$REDIS_TMP/redis.log" >&2 || true
    die "Redis on port $REDIS_PORT does not answer PING"
}

# ---------------------------------------------------------------- choose

if [ -n "${TALONARIO_TEST_DATABASE_URL:-}" ]; then
    db_how="from environment"
elif pg_answers 127.0.0.1 5432; then
    TALONARIO_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    db_how="local server"
else
    start_postgres
    TALONARIO_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
    db_how="throwaway PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') in $PG_TMP"
fi

# `flask backup` runs pg_dump/pg_restore: the throwaway server's own, or the client package's.
if [ -n "${PG_BIN:-}" ]; then
    export PATH="$PG_BIN:$PATH"
fi
command -v pg_dump >/dev/null || apt_install postgresql-client

if [ -n "${TALONARIO_TEST_REDIS_URL:-}" ]; then
    redis_how="from environment"
elif redis_answers 127.0.0.1 6379; then
    TALONARIO_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
    redis_how="local server"
else
    start_redis
    TALONARIO_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    redis_how="throwaway Redis $(redis-server --version | awk '{sub(/^v=/, "", $3); print $3}') in $REDIS_TMP"
fi

export TALONARIO_TEST_DATABASE_URL TALONARIO_TEST_REDIS_URL

log "database $(mask_url "$TALONARIO_TEST_DATABASE_URL") ($db_how);" \
    "redis $(mask_url "$TALONARIO_TEST_REDIS_URL") ($redis_how)"

# ---------------------------------------------------------------- run

rc=0
"$@" || rc=$?
exit "$rc"
