#!/usr/bin/env bash
# The alembic commands that repair the live database, in order. Stop at the first failure.
set -euo pipefail

# Ben's 0002_user_phone has never run here: upgrade to the merge point runs it.
alembic upgrade 0004_merge_heads
# coupons was created by hand, with its rows: record 0005 as done instead of running it.
alembic stamp 0005_add_coupons
