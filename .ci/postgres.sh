#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `start` initialises a cluster in a temporary folder,
# starts it on 127.0.0.1 on a free port, creates a role and a database, and prints
#   export AUDITOR_TEST_POSTGRES_URL=postgresql+psycopg://...
# (use it as `eval "$(.ci/postgres.sh start)"`). `stop` stops the server and deletes the folder;
# `restart` restarts it (same port, same data).
# Needs Debian's `postgresql` package (or any PostgreSQL whose initdb/pg_ctl are on PATH).
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail

STATE="${AUDITOR_PG_DIR:-${TMPDIR:-/tmp}/auditor-ci-postgres}"
DATA="$STATE/data"

bindir() {
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(readlink -f "$(command -v pg_ctl)")"; return; fi
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$newest" ] || { echo "postgres.sh: no PostgreSQL found (apt-get install postgresql)" >&2; exit 1; }
  echo "$newest"
}

as_owner() {  # run a PostgreSQL binary as the cluster's owner
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local bin port password
  bin="$(bindir)"
  if [ -f "$STATE/url" ] && as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "export AUDITOR_TEST_POSTGRES_URL=$(cat "$STATE/url")"
    return
  fi
  stop  # a half-started cluster from an earlier attempt
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  [ "$(id -u)" = "0" ] && chown postgres: "$STATE"
  # A server clock that is not UTC: the tests prove the engine stores every time in UTC anyway.
  port="$(free_port)"
  password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
  as_owner "$bin/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >"$STATE/initdb.log" 2>&1 \
    || { cat "$STATE/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$DATA" -l "$STATE/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $STATE -c fsync=off -c timezone=America/Edmonton" start >/dev/null \
    || { cat "$STATE/server.log" >&2; exit 1; }
  as_owner "$bin/psql" -q -h "$STATE" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE auditor LOGIN PASSWORD '$password'" \
    -c "CREATE DATABASE auditor OWNER auditor" >/dev/null
  echo "postgresql+psycopg://auditor:$password@127.0.0.1:$port/auditor" >"$STATE/url"
  echo "export AUDITOR_TEST_POSTGRES_URL=$(cat "$STATE/url")"
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

stop() {
  [ -d "$DATA" ] || return 0
  as_owner "$(bindir)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$STATE"
}

restart() {  # the workers' test: the database goes away under running workers and comes back
  as_owner "$(bindir)/pg_ctl" -D "$DATA" -l "$STATE/server.log" -m fast -w restart >/dev/null
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) restart ;;
  *) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
