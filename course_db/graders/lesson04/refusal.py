"""Lesson 04, task 4: once some users have several addresses, `downgrade 0002_full_name` cannot put
them back into one set of columns: it must refuse with a RuntimeError that says how many users,
and leave the database as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from course_db.graders.lesson04.tables import EXAMPLES, FULL_NAME, SPLIT, readable_addresses
from course_db.inprocess import alembic
from course_db.inspection import checksum, scalar, table_exists
from course_db.report import Result

REFUSAL = "the downgrade refuses when a user has several addresses, says how many, changes nothing"
# Added after the upgrade: users 1 and 4 then have 2, user 10 has 3, user 22 has 1, so 3 users
# have several (4 rows more than one per user, 6 new rows) if the upgrade lost nothing.
EXTRA_ADDRESSES = [
    (1, "Calle de Alcalá 50", "Madrid", "28014"),
    (4, "Carrer de Colón 1", "Valencia", "46004"),
    (10, "Calle Larios 1", "Málaga", "29005"),
    (10, "Paseo del Parque 2", "Málaga", "29015"),
    (10, None, "Marbella", None),
    (22, "Hàng Bạc 5", "Hà Nội", None),
]


def refusal(root: Path, conn: psycopg.Connection) -> Result:
    name = REFUSAL
    version = _version(conn)
    if version != SPLIT or not readable_addresses(conn):
        message = f"Not checked: the database should be at {SPLIT} with an addresses table"
        message += f" by now (it is at {version or 'no revision'}); fix the tasks above first."
        return Result(4, name, False, message)
    insert = "INSERT INTO addresses (user_id, street, city, postal_code) VALUES (%s, %s, %s, %s)"
    conn.cursor().executemany(insert, EXTRA_ADDRESSES)
    before = (SPLIT, checksum(conn, "addresses", "t::text"))
    several = conn.execute(
        "SELECT user_id, count(*) FROM addresses GROUP BY user_id HAVING count(*) > 1 "
        "ORDER BY user_id"
    ).fetchall()
    counts = ", ".join(f"user {uid} has {count}" for uid, count in several[:EXAMPLES])
    users = "1 user has" if len(several) == 1 else f"{len(several)} users have"
    setup = f"The check added addresses after the upgrade: now {counts}, so {users} more than one "
    setup += "address."
    step = alembic(root, "downgrade", FULL_NAME)
    # The whole message: "Refusing to downgrade:\n3 users have ..." says how many on line 2.
    refused = _is_refusal(step.exception)
    raised = f"{type(step.exception).__name__}: {step.exception}" if refused else ""
    if step.ok:
        message = (
            f"{setup} Your `downgrade {FULL_NAME}` still ran, so it kept at most one address "
            "of each and silently dropped the others. Count the users with more than one "
            "address first, and raise RuntimeError when there are any."
        )
    elif not refused:
        message = (
            f"{setup} Your downgrade failed, but not with the RuntimeError the README asks "
            f"for:\n{step.explain()}"
        )
    elif not re.search(rf"(?<!\d){len(several)}(?!\d)", raised):
        message = (
            f"{setup} Your downgrade refused, good, but its message does not say how many "
            f"users have several addresses ({len(several)}):\n"
            + "\n".join(f"  {line}" for line in raised.splitlines())
        )
    else:
        changed = (_version(conn), checksum(conn, "addresses", "t::text")) != before
        message = "After the refusal the database changed: raise before anything is committed."
        message = message if changed else ""
    return Result(4, name, not message, message)


def _is_refusal(exc: BaseException | None) -> bool:
    """A RuntimeError the learner raised (their own subclass too), not one Python raised."""
    return isinstance(exc, RuntimeError) and not isinstance(
        exc, (NotImplementedError, RecursionError)
    )


def _version(conn: psycopg.Connection) -> str | None:
    if not table_exists(conn, "alembic_version"):
        return None
    version: str | None = scalar(conn, "SELECT string_agg(version_num, ', ') FROM alembic_version")
    return version
