"""The class's progress database, `course_<class>_progress`: each learner sees their own rows only.

Learners read their rows through row-level security and write only through `record_progress` (and
`record_hint`, for the hints they were shown): SECURITY DEFINER functions that key the row by the
session's role. Nobody can write, change or reset somebody else's row, whatever they pass. The
instructor (the admin) reads every row, for the board and for the CSV file `course workshop end`
keeps.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from course_db import roles
from course_db.databases import MARKER, admin, comment_of
from course_db.errors import SetupError
from course_db.progress_upsert import HINTS_TABLE, upsert_sql
from course_db.server import Server

PROGRESS_SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (
    prefix text NOT NULL,
    lesson text NOT NULL CHECK (lesson ~ '^[0-9]{{2}}$'),
    status text NOT NULL CHECK (status IN ('passed', 'failed')),
    passed_tasks integer NOT NULL,
    total_tasks integer NOT NULL,
    failing_task integer,
    checks integer NOT NULL DEFAULT 1,
    last_checked_at timestamptz NOT NULL DEFAULT now(),
    first_passed_at timestamptz,
    PRIMARY KEY (prefix, lesson)
);
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO {group};
REVOKE ALL ON progress FROM PUBLIC;
GRANT SELECT ON progress TO {group};
ALTER TABLE progress ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON progress;
CREATE POLICY own_rows ON progress FOR SELECT TO {group} USING (prefix = current_user);
CREATE OR REPLACE FUNCTION record_progress(
    p_lesson text, p_status text, p_passed integer, p_total integer, p_failing integer
) RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    {upsert}
$$;
REVOKE ALL ON FUNCTION record_progress(text, text, integer, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_progress(text, text, integer, integer, integer) TO {group};
{hints_table};
REVOKE ALL ON hints_seen FROM PUBLIC;
GRANT SELECT ON hints_seen TO {group};
ALTER TABLE hints_seen ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON hints_seen;
CREATE POLICY own_rows ON hints_seen FOR SELECT TO {group} USING (prefix = current_user);
CREATE OR REPLACE FUNCTION record_hint(p_lesson text, p_hint integer)
RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO public.hints_seen (prefix, lesson, hint) VALUES (session_user, p_lesson, p_hint)
    ON CONFLICT DO NOTHING
$$;
REVOKE ALL ON FUNCTION record_hint(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_hint(text, integer) TO {group};
"""
# The row is keyed by the session's role, never by what the caller passes.
RECORD_PROGRESS = upsert_sql(
    "public.progress",
    {
        "prefix": "session_user",
        "lesson": "p_lesson",
        "status": "p_status",
        "passed_tasks": "p_passed",
        "total_tasks": "p_total",
        "failing_task": "p_failing",
    },
)


def ensure_progress(server: Server, group: str) -> None:
    """The class's progress database: rows readable by their learner, written by a function."""
    name = roles.progress_db(group)
    ident = sql.Identifier(name)
    with admin(server) as conn:
        comment = comment_of(conn, name)
        if comment is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    ident, sql.Literal(f"{MARKER} prefix={group} progress")
                )
            )
        elif not comment.startswith(f"{MARKER} prefix={group} "):
            raise SetupError(
                f"A database named {name} exists and is not this workshop's.",
                tip="pick another workshop name with --workshop.",
            )
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident))
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(ident, sql.Identifier(group))
        )
    with psycopg.connect(**server.conninfo(name), autocommit=True) as conn:
        group_sql = sql.Identifier(group).as_string(conn)
        conn.execute(
            PROGRESS_SCHEMA.format(group=group_sql, upsert=RECORD_PROGRESS, hints_table=HINTS_TABLE)
        )


CSV_COLUMNS = (
    "learner",
    "lesson",
    "status",
    "passed_tasks",
    "total_tasks",
    "failing_task",
    "checks",
    "last_checked_at",
    "first_passed_at",
    "hints_seen",
)


def progress_rows(server: Server, group: str) -> list[tuple[Any, ...]]:
    """Every progress row of the class (the instructor reads them all), learner name first."""
    name = roles.progress_db(group)
    with admin(server) as conn:
        if comment_of(conn, name) is None:
            return []
    with psycopg.connect(**server.conninfo(name), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT prefix, lesson, status, passed_tasks, total_tasks, failing_task, checks, "
            "last_checked_at, first_passed_at, (SELECT count(*) FROM hints_seen AS h "
            "WHERE h.prefix = p.prefix AND h.lesson = p.lesson) "
            "FROM progress AS p ORDER BY prefix, lesson"
        ).fetchall()
    return [(row[0].removeprefix(group + "_"), *row[1:]) for row in rows]


def export_csv(server: Server, group: str, folder: Path) -> Path:
    """`FOLDER/progress-<time>.csv`: the class's progress, kept after `end`."""
    rows = progress_rows(server, group)
    path = folder / f"progress-{time.strftime('%Y%m%d-%H%M%S')}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
    return path
