#!/usr/bin/env bash
# The container's entrypoint: wait for PostgreSQL, migrate, then become the app.
#   DB_HOST, DB_PORT, DB_USER  where PostgreSQL listens (required)
#   DB_WAIT_TIMEOUT            seconds to wait for it (default 30)
#   DATABASE_URL               what alembic migrates (read by migrations/env.py)
# Any failure stops the container, so the orchestrator restarts it or reports it.
set -euo pipefail

: "${DB_HOST:?DB_HOST is not set: the host PostgreSQL listens on}"
: "${DB_PORT:?DB_PORT is not set: the port PostgreSQL listens on}"
: "${DB_USER:?DB_USER is not set: the user to ask pg_isready about}"
timeout="${DB_WAIT_TIMEOUT:-30}"

echo "Waiting up to ${timeout} s for PostgreSQL at ${DB_HOST}:${DB_PORT}..."
waited=0
# Quoted variables: an empty or spaced value stays one argument instead of shifting the others.
until pg_isready --quiet --timeout=1 --host="$DB_HOST" --port="$DB_PORT" --username="$DB_USER"; do
  waited=$((waited + 1))
  if ((waited >= timeout)); then
    echo "PostgreSQL at ${DB_HOST}:${DB_PORT} is not ready after ${timeout} s: giving up." >&2
    exit 1
  fi
  sleep 1
done

echo "Running migrations..."
alembic upgrade head

echo "Starting: $*"
# exec: the app replaces this shell, so it gets PID 1 and the container's signals (SIGTERM).
exec "$@"
