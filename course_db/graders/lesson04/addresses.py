"""Lesson 04, task 2: after 0003_split_addresses, `addresses` has the README's columns and keys,
users has lost its three address columns, and every user's address moved over unchanged: one row
for each user with any part of an address, none for a user without.
"""

from __future__ import annotations

import psycopg

from course_db.graders.kit.values import show_value
from course_db.graders.lesson04.tables import (
    ADDRESS_COLUMNS,
    EXAMPLES,
    USER_COLUMNS,
    Address,
    UserRow,
    describe,
    readable_addresses,
)
from course_db.inspection import constraints, table_columns, table_exists
from course_db.report import Result

ADDRESS_TABLE = {  # column: (type, NOT NULL)
    "id": ("integer", True),
    "user_id": ("integer", True),
    "street": ("character varying(200)", False),
    "city": ("character varying(100)", False),
    "postal_code": ("character varying(20)", False),
}
ADDR_TABLE = "addresses: id primary key, user_id NOT NULL -> users.id, street, city, postal_code"
OLD_GONE = "users no longer has address_street, address_city, address_postal"
ADDR_ROWS = "every address part of every user is in addresses, unchanged"


def expected_address(user: UserRow) -> Address | None:
    """(street, city, postal_code) copied unchanged, or None when all three are NULL."""
    address = tuple(user[USER_COLUMNS.index(column)] for column in ADDRESS_COLUMNS)
    return None if all(part is None for part in address) else address


def address_table(conn: psycopg.Connection) -> Result:
    name = ADDR_TABLE
    if not table_exists(conn, "addresses"):
        return Result(2, name, False, "After `alembic upgrade head` there is no table addresses.")
    got = {column: info[:2] for column, info in table_columns(conn, "addresses").items()}
    problems = [
        f"{column} is {describe(got.get(column))}, expected {describe(wanted)}"
        for column, wanted in ADDRESS_TABLE.items()
        if got.get(column) != wanted
    ]
    if set(got) - set(ADDRESS_TABLE):
        problems.append("unexpected columns: " + ", ".join(sorted(set(got) - set(ADDRESS_TABLE))))
    keys = constraints(conn, "addresses")
    if ("p", ["id"], None) not in keys:
        problems.append("id is not the primary key")
    if ("f", ["user_id"], "users") not in keys:
        problems.append("user_id has no foreign key to users.id")
    return Result(2, name, not problems, "; ".join(problems) + ("." if problems else ""))


def old_columns_gone(conn: psycopg.Connection) -> Result:
    name = OLD_GONE
    left = [column for column in ADDRESS_COLUMNS if column in table_columns(conn, "users")]
    message = f"users still has {', '.join(left)}: drop them after copying." if left else ""
    return Result(2, name, not left, message)


def address_rows(conn: psycopg.Connection, users: dict[int, UserRow]) -> Result:
    name = ADDR_ROWS
    if not readable_addresses(conn):
        return Result(2, name, False, "Cannot read addresses(user_id, street, city, postal_code).")
    got: dict[int, list[Address]] = {}
    for user_id, *address in conn.execute(
        "SELECT user_id, street, city, postal_code FROM addresses ORDER BY id"
    ):
        got.setdefault(user_id, []).append(tuple(address))
    addresses = {uid: expected_address(user) for uid, user in users.items()}
    expected = {uid: address for uid, address in addresses.items() if address is not None}
    if not got:
        message = f"addresses is empty after the upgrade, but {len(expected)} users had an address"
        return Result(2, name, False, message + ": copy them before dropping the columns.")
    lines = []
    missing = [uid for uid in expected if uid not in got]
    if missing:
        no_street = [uid for uid in missing if expected[uid][0] is None]
        lines.append(f"{len(missing)} of {len(expected)} users with an address have no row, e.g.:")
        examples = sorted(missing, key=lambda uid: expected[uid][0] is not None)[:EXAMPLES]
        lines += [f"  user {uid}: {show_value(expected[uid])}" for uid in examples]
        if no_street:
            lines.append(
                f"{len(no_street)} of them have no street: `WHERE address_street IS NOT NULL` "
                "skips them; keep a row when any of the three columns is not NULL."
            )
    empty = [uid for uid in got if uid not in expected]
    if empty:
        lines.append(
            f"{len(empty)} users with no address at all got a row, e.g. user {empty[0]}: "
            f"{show_value(got[empty[0]][0])}; a user whose three columns are NULL gets no row."
        )
    several = [uid for uid in got if uid in expected and len(got[uid]) > 1]
    if several:
        lines.append(
            f"{len(several)} users got more than one row, e.g. user {several[0]} has "
            f"{len(got[several[0]])}: one row per user."
        )
    changed = [uid for uid in expected if uid in got and expected[uid] not in got[uid]]
    if changed:
        lines.append(f"{len(changed)} users' addresses changed on the way, e.g.:")
        lines += [
            f"  user {uid}: expected {show_value(expected[uid])}, got {show_value(got[uid][0])}"
            for uid in changed[:EXAMPLES]
        ]
        lines.append("Copy the values as they are: no trim, no '' -> NULL, no NULL -> ''.")
    return Result(2, name, not lines, "\n".join(lines))
