"""Tests for the capstone's chain. The course runs them with its own pytest configuration: every
test gets a fresh copy of the lesson's database (1,000 customers, no revision applied yet) as
`database_url`, and DATABASE_URL points at it, so `alembic` commands migrate that copy."""

import psycopg
from alembic import command
from alembic.config import Config


def migrate(verb: str, target: str) -> None:
    getattr(command, verb)(Config("alembic.ini"), target)


def query(database_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        return conn.execute(sql).fetchall()


def test_upgrade_and_downgrade_run(database_url: str) -> None:
    migrate("upgrade", "head")
    migrate("downgrade", "base")
    assert query(database_url, "SELECT count(*) FROM customers") == [(1000,)]


# TODO: task 5. Tests that fail when the backfill misses a row, when a downgrade loses data, and
# when name or phone disappear before 0003_contract (see the README).
