"""The one rule for recording a check, shared by both progress tables.

A learner's own `course_progress` (written by `progress.record`) and a class's progress database
(written by its `record_progress` function, see `class_progress.py`) count checks the same way:
the latest status and task counts win, `checks` counts every check, and `first_passed_at` keeps
the moment of the first pass, whatever came after. Written once here, so the two cannot drift.
"""

from __future__ import annotations

KEY = ("prefix", "lesson")

# The hints a learner has been shown, one row each (`course_db/hints.py`); same in both databases.
HINTS_TABLE = """
CREATE TABLE IF NOT EXISTS hints_seen (
    prefix text NOT NULL,
    lesson text NOT NULL,
    hint integer NOT NULL CHECK (hint > 0),
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (prefix, lesson, hint)
)
"""


def upsert_sql(table: str, values: dict[str, str]) -> str:
    """`INSERT ... ON CONFLICT` of one check into `table`.

    `values` maps each column to the SQL that gives it (a placeholder, a parameter name, or
    `session_user`); it names `prefix`, `lesson` and `status` at least.
    """
    columns = [*values, "first_passed_at"]
    given = [*values.values(), f"CASE WHEN {values['status']} = 'passed' THEN now() END"]
    updates = [
        *(f"{column} = excluded.{column}" for column in values if column not in KEY),
        "checks = p.checks + 1",
        "last_checked_at = now()",
        "first_passed_at = coalesce(p.first_passed_at, excluded.first_passed_at)",
    ]
    return (
        f"INSERT INTO {table} AS p ({', '.join(columns)})\n"
        f"VALUES ({', '.join(given)})\n"
        f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET\n    " + ",\n    ".join(updates)
    )
