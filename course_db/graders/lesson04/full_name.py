"""Lesson 04, task 1: after 0002_full_name, `users.full_name` is varchar(200) NOT NULL and holds,
for every user, exactly what the README's rule makes of first_name and last_name.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from course_db.graders.kit.values import show_value
from course_db.graders.lesson04.tables import FULL_NAME, UserRow
from course_db.inspection import table_columns
from course_db.report import Result

FN_COLUMN = "users.full_name is varchar(200) NOT NULL"
FN_VALUES = "every user's full_name is exactly the README's"


def expected_full_name(first: str | None, last: str | None) -> str:
    """The README's rule: trim each part (spaces), drop empty ones, join the rest with one space."""
    parts = (part.strip(" ") for part in (first, last) if part is not None)
    return " ".join(part for part in parts if part)


def full_name_column(conn: psycopg.Connection) -> Result:
    name = FN_COLUMN
    column = table_columns(conn, "users").get("full_name")
    if column is None:
        message = f"After `alembic upgrade {FULL_NAME}`, users has no full_name column: keep the "
        return Result(1, name, False, message + "starter's op.add_column(...) line.")
    problems = []
    if column[0] != "character varying(200)":
        problems.append(f"full_name is {column[0]}; the README asks for varchar(200) (String(200))")
    if not column[1]:
        problems.append(
            "full_name still allows NULL: after the backfill, make it NOT NULL with "
            'op.alter_column("users", "full_name", existing_type=sa.String(200), nullable=False)'
        )
    return Result(1, name, not problems, "; ".join(problems) + ("." if problems else ""))


def full_name_values(conn: psycopg.Connection, users: dict[int, UserRow]) -> Result:
    name = FN_VALUES
    if "full_name" not in table_columns(conn, "users"):
        return Result(1, name, False, "Cannot read users.full_name: fix the check above first.")
    got: dict[int, str | None] = dict(conn.execute("SELECT id, full_name FROM users").fetchall())
    expected = {uid: expected_full_name(user[2], user[3]) for uid, user in users.items()}
    wrong = sorted(uid for uid in expected if got.get(uid) != expected[uid])
    if not wrong:
        return Result(1, name, True)
    nulls = [uid for uid in wrong if got.get(uid) is None]
    lines = [f"full_name differs from the README's rule for {len(wrong)} of {len(users)} users:"]
    lines += [
        f"  user {uid} (first_name {show_value(users[uid][2])}, "
        f"last_name {show_value(users[uid][3])}): "
        f"expected {expected[uid]!r}, got {show_value(got.get(uid))}"
        for uid in _diverse(wrong, users)
    ]
    if len(nulls) == len(users):
        lines.append("Fill it: UPDATE users SET full_name = ... (op.execute), before SET NOT NULL.")
    elif nulls:
        lines.append(
            f"{len(nulls)} of them are NULL: `first_name || ' ' || last_name` is NULL as soon as "
            "one part is NULL; concat_ws(' ', ...) skips NULL arguments."
        )
    if len(nulls) < len(wrong):
        lines.append(
            "Trim each part, drop the parts left empty, and join what remains with one space: "
            "concat_ws(' ', '', 'Ana') gives ' Ana' (nullif(trim(x), '') turns '' into NULL)."
        )
    return Result(1, name, False, "\n".join(lines))


def _diverse(ids: list[int], users: dict[int, UserRow]) -> list[int]:
    """A few examples that show different mistakes: a NULL part, an empty one, padding, others."""
    picks: list[int] = []
    kinds: tuple[Callable[[UserRow], bool], ...] = (
        lambda names: None in names,
        lambda names: "" in names,
        lambda names: any(part and part != part.strip(" ") for part in names),
        lambda names: True,
    )
    for kind in kinds:
        picks += [uid for uid in ids if kind(users[uid][2:4]) and uid not in picks][:1]
    return picks
