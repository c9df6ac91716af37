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

and, for every task, the revisions' source: none imports the app's models. Each task's checks
are in the module named for it (`full_name`, `addresses`, `roundtrip`, `refusal`, `frozen`).
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from course_db.graders.lesson04.addresses import (
    ADDR_ROWS,
    ADDR_TABLE,
    OLD_GONE,
    address_rows,
    address_table,
    old_columns_gone,
)
from course_db.graders.lesson04.frozen import frozen_in_time
from course_db.graders.lesson04.full_name import (
    FN_COLUMN,
    FN_VALUES,
    full_name_column,
    full_name_values,
)
from course_db.graders.lesson04.refusal import REFUSAL, refusal
from course_db.graders.lesson04.roundtrip import AGAIN, ROUND_TRIP, round_trip
from course_db.graders.lesson04.tables import FULL_NAME, SELECT_USERS, SPLIT
from course_db.inprocess import Step, alembic
from course_db.inspection import connect, schema_objects, table_columns
from course_db.lesson_databases import Databases
from course_db.report import Result

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


def grade(project: Path, databases: Databases) -> list[Result]:
    with connect(databases.url) as conn:  # idle between reads (autocommit): it holds no lock
        conn.autocommit, conn.prepare_threshold = True, None  # the schema changes under it
        results = _grade(project, conn)
    return frozen_in_time(project, results)


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
    results = [full_name_column(conn), full_name_values(conn, users)]
    if not head.ok:
        return [*results, Result(2, ADDR_TABLE, False, _why(head))]
    results += [address_table(conn), old_columns_gone(conn), address_rows(conn, users)]

    copied = results[-1].passed
    results += round_trip(root, conn, (before, users_columns, users), copied)
    results.append(refusal(root, conn))
    return results


def _why(step: Step) -> str:
    """The failed step, plus what it usually means in this lesson."""
    text = step.explain()
    if "contains null values" in step.error:
        text += "\nSET NOT NULL found NULLs: `'Ana' || ' ' || NULL` is NULL; concat_ws skips NULLs."
    if any(sign in step.error for sign in ("Can't locate revision", "KeyError: '000")):
        text += f"\nKeep the starter's revision ids ({FULL_NAME}, {SPLIT}) and their chain."
    return text
