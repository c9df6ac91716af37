"""Tests for the capstone's chain. The course runs them with its own pytest configuration: every
test gets a fresh copy of the lesson's database (1,000 customers, no revision applied yet) as
`database_url`, and DATABASE_URL points at it, so `alembic` commands migrate that copy."""

import psycopg
from alembic import command
from alembic.config import Config

V2_WRITES = (
    "INSERT INTO customers (email, name, display_name, phone) "
    "VALUES ('new@example.com', 'Nueva', 'Nueva', '+34 1') RETURNING id",
    "UPDATE customers SET name = 'Ana', display_name = 'Ana', phone = '+34 2' WHERE id = 1",
)


def migrate(verb: str, target: str) -> None:
    getattr(command, verb)(Config("alembic.ini"), target)


def query(database_url: str, sql: str) -> list[tuple]:
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        return conn.execute(sql).fetchall()


def columns(database_url: str) -> set[str]:
    sql = "SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'"
    return {name for (name,) in query(database_url, sql)}


def test_backfill_copies_every_name_and_phone_exactly(database_url: str) -> None:
    names = query(database_url, "SELECT id, name FROM customers")
    phones = query(database_url, "SELECT id, phone FROM customers WHERE phone IS NOT NULL")
    migrate("upgrade", "0002_backfill")
    assert sorted(query(database_url, "SELECT id, display_name FROM customers")) == sorted(names)
    got = query(database_url, "SELECT customer_id, phone FROM customer_phones")
    assert sorted(got) == sorted(phones)


def test_old_columns_stay_until_the_contract(database_url: str) -> None:
    # v1 runs while 0001 deploys and v2 while 0002 does: both still use name and phone.
    for revision in ("0001_expand", "0002_backfill"):
        migrate("upgrade", revision)
        assert {"name", "phone", "display_name"} <= columns(database_url), revision
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        for sql in V2_WRITES:
            conn.execute(sql)
    migrate("upgrade", "0003_contract")
    assert not {"name", "phone"} & columns(database_url)


def test_downgrade_to_base_restores_every_row(database_url: str) -> None:
    sql = "SELECT id, email, name, phone FROM customers ORDER BY id"
    before = query(database_url, sql)
    migrate("upgrade", "head")
    migrate("downgrade", "base")
    assert query(database_url, sql) == before
