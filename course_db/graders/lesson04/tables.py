"""What every step of lesson 04's grader knows: the revisions, and the users table as the seed has
it. The grader reads every user before the upgrade (`SELECT_USERS`): tasks 1 and 2 derive the
expected values from those rows, task 3 compares them with what the downgrade gives back.
"""

from __future__ import annotations

from typing import Any

import psycopg

from course_db.inspection import table_columns, table_exists

BASE, FULL_NAME, SPLIT = "0001_create_users", "0002_full_name", "0003_split_addresses"
ADDRESS_COLUMNS = ("address_street", "address_city", "address_postal")
USER_COLUMNS = ("id", "email", "first_name", "last_name", *ADDRESS_COLUMNS)
SELECT_USERS = f"SELECT {', '.join(USER_COLUMNS)} FROM users"
UserRow = tuple[Any, ...]  # a row of SELECT_USERS
Address = tuple[Any, ...]  # (street, city, postal_code)
ADDRESS_PARTS = {"user_id", "street", "city", "postal_code"}
EXAMPLES = 4  # rows a message shows, at most


def readable_addresses(conn: psycopg.Connection) -> bool:
    """addresses has the columns the grader reads (task 2's rows, task 4's new addresses)."""
    columns = table_columns(conn, "addresses") if table_exists(conn, "addresses") else {}
    return set(columns) >= ADDRESS_PARTS


def describe(column: tuple[object, ...] | None) -> str:
    """`character varying(100) NULL`, plus the default if the column has one."""
    if column is None:
        return "missing"
    default = f" DEFAULT {column[2]}" if len(column) > 2 and column[2] else ""
    return f"{column[0]} {'NOT NULL' if column[1] else 'NULL'}{default}"
