#!/usr/bin/env bash
# Start a local PostgreSQL for the registry tests and print the URL for them:
#
#   eval "$(bash scripts/ci-postgres.sh)"    # sets FIELDAPP_TEST_PG_URL
#
# Installs Debian's postgresql package if missing (apt-get, as root), starts the
# distribution's cluster (pg_ctlcluster; creates one if there is none), creates the role
# and database `fieldapp_test` (password auth over 127.0.0.1) and prints one line,
# `export FIELDAPP_TEST_PG_URL=postgresql://...`, on stdout. Idempotent: a second run
# reuses what the first set up. If PostgreSQL cannot be had, stdout stays empty, a
# warning goes to stderr and the exit code is still 0 (the tests then skip PostgreSQL).
set -u
export PATH="$PATH:/usr/sbin:/sbin"
exec 3>&1 1>&2  # everything but the final export line goes to stderr

DB=fieldapp_test
ROLE=fieldapp_test
PASS=${FIELDAPP_TEST_PG_PASSWORD:-fieldapp_test_pw}

warn() { echo "ci-postgres: WARNING: $*" >&2; exit 0; }

as_postgres() { (cd /tmp && runuser -u postgres -- "$@"); }

PG_LIB_DIR=${FIELDAPP_PG_LIB_DIR:-/usr/lib/postgresql}
pg_version() { ls "$PG_LIB_DIR" 2>/dev/null | sort -n | tail -1; }

install_pg() {
    [ -n "$(pg_version)" ] && command -v pg_ctlcluster >/dev/null && return 0
    [ "$(id -u)" = 0 ] || warn "PostgreSQL is not installed and we are not root"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || warn "apt-get update failed"
    apt-get install -y -qq postgresql >/dev/null || warn "apt-get install postgresql failed"
}

start_cluster() {
    local ver=$1
    if ! pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main"' | grep -q .; then
        pg_createcluster "$ver" main </dev/null >/dev/null 3>&- || warn "pg_createcluster failed"
    fi
    if ! pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
        # The server is a daemon: it must not inherit fd 3 (our caller's $(...) pipe, which
        # would then never reach EOF) nor the caller's stdout/stderr (a CI log pipe).
        local log; log=$(mktemp)
        if ! pg_ctlcluster "$ver" main start </dev/null >"$log" 2>&1 3>&-; then
            cat "$log"; rm -f "$log"; warn "pg_ctlcluster $ver main start failed"
        fi
        cat "$log"; rm -f "$log"
        echo "export FIELDAPP_TEST_PG_STARTED=$ver" >&3
    fi
    for _ in $(seq 1 30); do
        as_postgres psql -p "$(port "$ver")" -tAc "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 1
    done
    warn "PostgreSQL did not accept connections"
}

port() { pg_lsclusters -h | awk -v v="$1" '$1 == v && $2 == "main" {print $3}'; }

create_db() {
    local p=$1
    psql_pg() { as_postgres psql -p "$p" -v ON_ERROR_STOP=1 -tAc "$1"; }
    if [ "$(psql_pg "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
        psql_pg "CREATE ROLE $ROLE LOGIN PASSWORD '$PASS'" >/dev/null || warn "could not create role"
    else
        psql_pg "ALTER ROLE $ROLE LOGIN PASSWORD '$PASS'" >/dev/null || warn "could not update role"
    fi
    if [ "$(psql_pg "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
        psql_pg "CREATE DATABASE $DB OWNER $ROLE" >/dev/null || warn "could not create database"
    fi
}

install_pg
VER=$(pg_version)
[ -n "$VER" ] || warn "no PostgreSQL server found after install"
start_cluster "$VER"
PORT=$(port "$VER")
[ -n "$PORT" ] || warn "could not find the cluster's port"
create_db "$PORT"
URL="postgresql://$ROLE:$PASS@127.0.0.1:$PORT/$DB"
if ! PGPASSWORD=$PASS PGCONNECT_TIMEOUT=5 psql "$URL" -tAc "SELECT 1" >/dev/null 2>&1; then
    warn "cannot log in to $DB over 127.0.0.1"
fi
echo "export FIELDAPP_TEST_PG_URL=$URL" >&3
