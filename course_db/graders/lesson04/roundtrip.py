"""Lesson 04, task 3: `downgrade 0001_create_users` gives back the users table exactly as the seed
had it (its columns first, then every row's values), and `upgrade head` works again after it.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from course_db.graders.kit.values import show_value
from course_db.graders.lesson04.tables import (
    BASE,
    EXAMPLES,
    FULL_NAME,
    SELECT_USERS,
    SPLIT,
    USER_COLUMNS,
    UserRow,
    describe,
)
from course_db.inprocess import alembic
from course_db.inspection import Column, schema_objects, table_columns, table_exists
from course_db.report import Result

ROUND_TRIP = f"`downgrade {BASE}` gives back users exactly as it was, byte for byte"
AGAIN = "`upgrade head` works again after the downgrade"


def round_trip(
    root: Path,
    conn: psycopg.Connection,
    original: tuple[set[str], dict[str, Column], dict[int, UserRow]],
    copied: bool,
) -> list[Result]:
    """Downgrade to the seed's revision and compare with `original` (schema objects, users'
    columns, users' rows, read before the upgrade), then upgrade again. `copied`: task 2's rows
    passed, so a lost address is the downgrade's fault, not the upgrade's."""
    before, users_columns, users = original
    name = ROUND_TRIP
    step = alembic(root, "downgrade", BASE)
    if not step.ok:
        message = step.explain()
        if "RuntimeError" in step.error:
            message = (
                "Your downgrade refused, but nobody had more than one address: the check ran it "
                "right after your upgrade, on the seeded users. Refuse only when some user has "
                f"several rows in addresses (GROUP BY user_id HAVING count(*) > 1).\n{message}"
            )
        return [Result(3, name, False, message)]
    problems = _schema_problems(conn, before, users_columns)
    problems = problems or _data_problems(conn, users, copied)
    results = [Result(3, name, not problems, "\n".join(problems))]

    step = alembic(root, "upgrade", "head")
    return [*results, Result(3, AGAIN, step.ok, "" if step.ok else step.explain())]


def _schema_problems(
    conn: psycopg.Connection, before: set[str], columns: dict[str, Column]
) -> list[str]:
    problems = []
    if table_exists(conn, "addresses"):
        problems.append(f"table addresses is still there: {SPLIT}'s downgrade must drop it.")
    now = table_columns(conn, "users")
    if "full_name" in now:
        problems.append(f"users still has full_name: {FULL_NAME}'s downgrade must drop it.")
    for column, wanted in columns.items():
        if column not in now:
            problems.append(f"users has no {column}: {SPLIT}'s downgrade must add it back.")
        elif now[column] != wanted:
            problems.append(f"users.{column} is {describe(now[column])}; was {describe(wanted)}.")
    if not problems:
        after = schema_objects(conn)
        if after - before:
            problems.append("left behind: " + ", ".join(sorted(after - before)) + ".")
        if before - after:
            problems.append("missing: " + ", ".join(sorted(before - after)) + ".")
    return problems


def _data_problems(conn: psycopg.Connection, users: dict[int, UserRow], copied: bool) -> list[str]:
    rows = {row[0]: row for row in conn.execute(SELECT_USERS)}
    gone = sorted(set(users) - set(rows))
    changed = sorted(uid for uid in users if uid in rows and rows[uid] != users[uid])
    problems = [f"{len(gone)} users are gone, e.g. ids {gone[:5]}."] if gone else []
    if changed:
        problems.append(f"{len(changed)} of {len(users)} users differ from before the upgrade:")
        for uid in changed[:EXAMPLES]:
            diffs = [
                f"{column} {show_value(old)} -> {show_value(new)}"
                for column, old, new in zip(USER_COLUMNS, users[uid], rows[uid], strict=True)
                if old != new
            ]
            problems.append(f"  user {uid}: " + ", ".join(diffs))
        problems.append(
            f"{SPLIT}'s downgrade copies each user's address back into the three columns "
            "(UPDATE users ... FROM addresses ...), unchanged."
            if copied
            else "Fix task 2 first: an address that the upgrade did not copy cannot come back."
        )
    return problems
