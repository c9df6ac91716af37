"""Lesson 04's grader: the `full_name` backfill (0002) and the address split (0003), row by row.

Runs in the isolated child, with the learner's project copied to `project` (its working
directory) and `databases.url` a fresh copy of the lesson's template: 1,000 users at revision
0001_create_users. The steps, all on that copy:

  upgrade head                  task 1: full_name is varchar(200) NOT NULL, exact for every user
                                task 2: addresses exists, the old columns are gone, no part lost
                                (if it fails: upgrade 0002_full_name alone, for task 1)
  downgrade 0001_create_users   task 3: users is back exactly (columns, then every row's bytes)
  upgrade head                  task 3: works again
  (3 users get more addresses)
  downgrade 0002_full_name      task 4: refuses with a RuntimeError naming 3, and changes nothing
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from course_db.graders.kit.values import show_value
from course_db.inprocess import Step, alembic
from course_db.inspection import (
    Column,
    checksum,
    connect,
    constraints,
    scalar,
    schema_objects,
    table_columns,
    table_exists,
)
from course_db.lesson_databases import Databases
from course_db.report import Result

BASE, FULL_NAME, SPLIT = "0001_create_users", "0002_full_name", "0003_split_addresses"
ADDRESS_COLUMNS = ("address_street", "address_city", "address_postal")
USER_COLUMNS = ("id", "email", "first_name", "last_name", *ADDRESS_COLUMNS)
SELECT_USERS = f"SELECT {', '.join(USER_COLUMNS)} FROM users"
UserRow = tuple[Any, ...]  # a row of SELECT_USERS
Address = tuple[Any, ...]  # (street, city, postal_code)
ADDRESS_TABLE = {  # column: (type, NOT NULL)
    "id": ("integer", True),
    "user_id": ("integer", True),
    "street": ("character varying(200)", False),
    "city": ("character varying(100)", False),
    "postal_code": ("character varying(20)", False),
}
ADDRESS_PARTS = {"user_id", "street", "city", "postal_code"}
# Task 4 adds these after the upgrade: users 1 and 4 then have 2, user 10 has 3, user 22 has 1, so
# 3 users have several (4 rows more than one per user, 6 new rows) if the upgrade lost nothing.
EXTRA_ADDRESSES = [
    (1, "Calle de Alcalá 50", "Madrid", "28014"),
    (4, "Carrer de Colón 1", "Valencia", "46004"),
    (10, "Calle Larios 1", "Málaga", "29005"),
    (10, "Paseo del Parque 2", "Málaga", "29015"),
    (10, None, "Marbella", None),
    (22, "Hàng Bạc 5", "Hà Nội", None),
]
EXAMPLES = 4
FN_COLUMN = "users.full_name is varchar(200) NOT NULL"
FN_VALUES = "every user's full_name is exactly the README's"
ADDR_TABLE = "addresses: id primary key, user_id NOT NULL -> users.id, street, city, postal_code"
OLD_GONE = "users no longer has address_street, address_city, address_postal"
ADDR_ROWS = "every address part of every user is in addresses, unchanged"
ROUND_TRIP = f"`downgrade {BASE}` gives back users exactly as it was, byte for byte"
REFUSAL = "the downgrade refuses when a user has several addresses, says how many, changes nothing"
AGAIN = "`upgrade head` works again after the downgrade"
TASKS = [
    (1, FN_COLUMN),
    (1, FN_VALUES),
    (2, ADDR_TABLE),
    (2, OLD_GONE),
    (2, ADDR_ROWS),
    (3, ROUND_TRIP),
    (3, AGAIN),
    (4, REFUSAL),
]


def expected_full_name(first: str | None, last: str | None) -> str:
    """The README's rule: trim each part (spaces), drop empty ones, join the rest with one space."""
    parts = (part.strip(" ") for part in (first, last) if part is not None)
    return " ".join(part for part in parts if part)


def expected_address(user: UserRow) -> Address | None:
    """(street, city, postal_code) copied unchanged, or None when all three are NULL."""
    address = tuple(user[USER_COLUMNS.index(column)] for column in ADDRESS_COLUMNS)
    return None if all(part is None for part in address) else address


def grade(project: Path, databases: Databases) -> list[Result]:
    with connect(databases.url) as conn:  # idle between reads (autocommit): it holds no lock
        conn.autocommit, conn.prepare_threshold = True, None  # the schema changes under it
        results = _grade(project, conn)
    return _frozen_in_time(project, results)


def _grade(root: Path, conn: psycopg.Connection) -> list[Result]:
    before = schema_objects(conn)
    users_columns = table_columns(conn, "users")
    users = {row[0]: row for row in conn.execute(SELECT_USERS)}

    head = alembic(root, "upgrade", "head")
    if not head.ok:  # it rolled back: run 0002 alone, to grade task 1 and name the failing task
        step = alembic(root, "upgrade", FULL_NAME)
        if not step.ok:  # a broken 0003 (a syntax error, say) stops this step too: say so
            broken = f"{SPLIT}.py" in step.error
            first = f"No revision runs until {SPLIT} loads (task 2):\n" if broken else ""
            return [Result(1, FN_COLUMN, False, first + _why(step))]
    results = [_full_name_column(conn), _full_name_values(conn, users)]
    if not head.ok:
        return [*results, Result(2, ADDR_TABLE, False, _why(head))]
    results += [_address_table(conn), _old_columns_gone(conn), _address_rows(conn, users)]

    copied = results[-1].passed
    results += _round_trip(root, conn, (before, users_columns, users), copied)
    results.append(_refusal(root, conn))
    return results


# Every task: revisions never import the app's models -----------------------------------------
def _frozen_in_time(root: Path, results: list[Result]) -> list[Result]:
    """Fail the data row of each revision that imports the app's models, naming the import.

    The grader cannot see this in the data: today the models match the schema, so a revision
    that uses them gives the right rows. It breaks later, when the models change.
    """
    rows = {result.name: result for result in results}
    for path in sorted((root / "migrations" / "versions").glob("*.py")):
        imports = app_imports(path)
        if not imports:
            continue
        row = FN_VALUES if path.stem <= FULL_NAME else ADDR_ROWS
        old = rows.get(row)
        if old is None:  # not reached: an earlier row failed, and says why
            continue
        message = (
            f"migrations/versions/{path.name} imports the app's models ("
            + "; ".join(imports)
            + "). The README says not to: app/models.py describes the schema of today and "
            "changes with the app (a column renamed, a model removed), while this revision must "
            "keep running, on a fresh database, against the schema of its own day. A migration "
            "is frozen in time: write the data step in SQL with op.execute(...) or "
            "op.get_bind().execute(sa.text(...)), or use a table declared inside the revision "
            "(sa.table(...), sa.column(...))."
        )
        if not old.passed and old.message:
            message += "\n" + old.message
        task = 1 if row == FN_VALUES else 2
        rows[row] = Result(task, row, False, message)
    return [rows[result.name] for result in results]


def app_imports(path: Path) -> list[str]:
    """`line 9: from app.models import User` for each import of the app's package in `path`."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):  # Alembic's own error says what is wrong
        return []
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            modules = [node.module]
        else:
            continue
        if any(module == "app" or module.startswith("app.") for module in modules):
            found.append(f"line {node.lineno}: `{lines[node.lineno - 1].strip()}`")
    return found


# Task 1 -------------------------------------------------------------------------------------
def _full_name_column(conn: psycopg.Connection) -> Result:
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


def _full_name_values(conn: psycopg.Connection, users: dict[int, UserRow]) -> Result:
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


# Task 2 -------------------------------------------------------------------------------------
def _address_table(conn: psycopg.Connection) -> Result:
    name = ADDR_TABLE
    if not table_exists(conn, "addresses"):
        return Result(2, name, False, "After `alembic upgrade head` there is no table addresses.")
    got = {column: info[:2] for column, info in table_columns(conn, "addresses").items()}
    problems = [
        f"{column} is {_describe(got.get(column))}, expected {_describe(wanted)}"
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


def _old_columns_gone(conn: psycopg.Connection) -> Result:
    name = OLD_GONE
    left = [column for column in ADDRESS_COLUMNS if column in table_columns(conn, "users")]
    message = f"users still has {', '.join(left)}: drop them after copying." if left else ""
    return Result(2, name, not left, message)


def _address_rows(conn: psycopg.Connection, users: dict[int, UserRow]) -> Result:
    name = ADDR_ROWS
    if not _readable_addresses(conn):
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


# Task 3 -------------------------------------------------------------------------------------
def _round_trip(
    root: Path,
    conn: psycopg.Connection,
    original: tuple[set[str], dict[str, Column], dict[int, UserRow]],
    copied: bool,
) -> list[Result]:
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
    again = AGAIN
    return [*results, Result(3, again, step.ok, "" if step.ok else step.explain())]


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
            problems.append(f"users.{column} is {_describe(now[column])}; was {_describe(wanted)}.")
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


# Task 4 -------------------------------------------------------------------------------------
def _refusal(root: Path, conn: psycopg.Connection) -> Result:
    name = REFUSAL
    version = _version(conn)
    if version != SPLIT or not _readable_addresses(conn):
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


# Reading the database, and messages ---------------------------------------------------------
def _readable_addresses(conn: psycopg.Connection) -> bool:
    columns = table_columns(conn, "addresses") if table_exists(conn, "addresses") else {}
    return set(columns) >= ADDRESS_PARTS


def _version(conn: psycopg.Connection) -> str | None:
    if not table_exists(conn, "alembic_version"):
        return None
    version: str | None = scalar(conn, "SELECT string_agg(version_num, ', ') FROM alembic_version")
    return version


def _why(step: Step) -> str:
    """The failed step, plus what it usually means in this lesson."""
    text = step.explain()
    if "contains null values" in step.error:
        text += "\nSET NOT NULL found NULLs: `'Ana' || ' ' || NULL` is NULL; concat_ws skips NULLs."
    if any(sign in step.error for sign in ("Can't locate revision", "KeyError: '000")):
        text += f"\nKeep the starter's revision ids ({FULL_NAME}, {SPLIT}) and their chain."
    return text


def _describe(column: tuple[object, ...] | None) -> str:
    """`character varying(100) NULL`, plus the default if the column has one."""
    if column is None:
        return "missing"
    default = f" DEFAULT {column[2]}" if len(column) > 2 and column[2] else ""
    return f"{column[0]} {'NOT NULL' if column[1] else 'NULL'}{default}"
