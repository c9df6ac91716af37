#!/usr/bin/env bash
# The container's entrypoint: wait for PostgreSQL, migrate, then become the app (README, task 1).
#   DB_HOST, DB_PORT, DB_USER  where PostgreSQL listens (required)
#   DB_WAIT_TIMEOUT            seconds to wait for it (default 30)
#   DATABASE_URL               what alembic migrates (read by migrations/env.py)
# TODO: wait with pg_isready (at most DB_WAIT_TIMEOUT seconds), run `alembic upgrade head`,
# then exec "$@".
echo "scripts/entrypoint.sh is not written yet (README, task 1)." >&2
exit 1
