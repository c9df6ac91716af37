"""Progress lives in the course's server, in one shared `course_progress` database.

It survives restarts of JupyterLab and clones of nothing but the database, and an instructor
running a workshop on one server can read every learner's row (keyed by database prefix).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from course_db.databases import MARKER, admin, prefix
from course_db.errors import SetupError, first_line
from course_db.progress_upsert import HINTS_TABLE, upsert_sql
from course_db.report import Report
from course_db.roles import learner_of
from course_db.server import Server

log = logging.getLogger("course_db")

PROGRESS_DB = "course_progress"
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS progress (
    prefix text NOT NULL,
    lesson text NOT NULL,
    status text NOT NULL,
    passed_tasks integer NOT NULL,
    total_tasks integer NOT NULL,
    checks integer NOT NULL DEFAULT 1,
    last_checked_at timestamptz NOT NULL DEFAULT now(),
    first_passed_at timestamptz,
    PRIMARY KEY (prefix, lesson)
);
DO $$ BEGIN  -- made before hints existed: add the column once (ALTER locks out every reader)
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'progress'::regclass
                   AND attname = 'failing_task' AND NOT attisdropped) THEN
        ALTER TABLE progress ADD COLUMN failing_task integer;
    END IF;
END $$;
"""
    + HINTS_TABLE
)


RECORD = upsert_sql(
    "progress",
    {
        "prefix": "%(prefix)s",
        "lesson": "%(lesson)s",
        "status": "%(status)s",
        "passed_tasks": "%(passed)s",
        "total_tasks": "%(total)s",
        "failing_task": "%(failing)s",
    },
)


@dataclass(frozen=True)
class LessonProgress:
    status: str
    passed_tasks: int
    total_tasks: int
    ever_passed: bool


def _connect(server: Server) -> psycopg.Connection:
    learner = learner_of(server)
    if learner is not None:  # the class's progress database, made by `course workshop init`
        try:
            return psycopg.connect(**server.conninfo(learner.progress_db), autocommit=True)
        except psycopg.OperationalError as exc:
            raise SetupError(
                f"Cannot open your class's progress database {learner.progress_db}: "
                + (str(exc).strip().splitlines() or ["?"])[-1],
                tip="ask your instructor to run `uv run course workshop init` again.",
            ) from None
    try:
        return psycopg.connect(**server.conninfo(PROGRESS_DB), autocommit=True)
    except psycopg.OperationalError:
        with admin(server) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (PROGRESS_DB,)
            ).fetchone()
            if not exists:
                try:
                    conn.execute(f"CREATE DATABASE {PROGRESS_DB}")
                    conn.execute(f"COMMENT ON DATABASE {PROGRESS_DB} IS '{MARKER} shared progress'")
                except psycopg.errors.DuplicateDatabase:
                    pass  # another process created it first
        return psycopg.connect(**server.conninfo(PROGRESS_DB), autocommit=True)


def record(server: Server, report: Report) -> None:
    """Store a graded result; a setup error is not progress and is not recorded."""
    if report.status == "error":
        return
    passed = sum(result.passed for result in report.results)
    failing = next((result.task for result in report.results if not result.passed), None)
    if learner_of(server) is not None:
        _record_as_learner(server, report, passed, failing)
        return
    try:
        with _connect(server) as conn:
            conn.execute(SCHEMA)
            conn.execute(
                RECORD,
                {
                    "prefix": prefix(),
                    "lesson": report.lesson,
                    "status": report.status,
                    "passed": passed,
                    "total": len(report.results),
                    "failing": failing,
                },
            )
    except psycopg.Error as exc:  # progress is a convenience: never fail a check over it
        log.warning("Could not record progress: %s", exc)


def _record_as_learner(server: Server, report: Report, passed: int, failing: int | None) -> None:
    """A learner writes only through the class's `record_progress`, which keys the row by the
    session's role: their own row, whatever the caller passes (see `workshop.py`)."""
    try:
        with _connect(server) as conn:
            conn.execute(
                "SELECT record_progress(%s, %s, %s, %s, %s)",
                (report.lesson, report.status, passed, len(report.results), failing),
            )
    except (psycopg.Error, SetupError) as exc:  # never fail a check over progress
        log.warning("Could not record progress: %s", exc)


def load(server: Server) -> dict[str, LessonProgress]:
    """Every lesson's progress for this prefix; a database error is a `SetupError` with a TIP.

    Unlike `record`, a failure here cannot be skipped: `course list` has nothing to show without
    it, and a psycopg traceback would not tell the learner who has to act.
    """
    try:
        with _connect(server) as conn:
            if learner_of(server) is None:  # a learner may not create tables: the class's exists
                conn.execute(SCHEMA)
            rows = conn.execute(
                "SELECT lesson, status, passed_tasks, total_tasks, first_passed_at IS NOT NULL "
                "FROM progress WHERE prefix = %s",
                (prefix(),),
            ).fetchall()
    except psycopg.Error as exc:  # no privilege on the table, no CONNECT on the database, ...
        raise SetupError(
            f"{server.user} may not read the course's progress: {_server_said(exc)}.",
            tip="on a shared server, ask your instructor for a join line "
            "(`course workshop add NAME`); on your own server, use its admin URL.",
        ) from None
    return {row[0]: LessonProgress(row[1], row[2], row[3], row[4]) for row in rows}


def _server_said(exc: psycopg.Error) -> str:
    """The server's own words: a failed connection has no diagnostic, and its first line starts
    with psycopg's 'connection failed: connection to server at ... failed: FATAL:'."""
    if exc.diag.message_primary:
        return exc.diag.message_primary
    line = first_line(exc)
    return line.rpartition("FATAL:")[2].strip() or line


@dataclass(frozen=True)
class HintState:
    """What `hint()` needs to pick the next hint of a lesson."""

    checked: bool  # the lesson was checked at least once
    failing_task: int | None  # the first failing task of the latest check (None: it passed)
    seen: frozenset[int]  # the hints shown so far, numbered from 1 as in `lessons.toml`


NOTHING_SEEN = HintState(False, None, frozenset())


@dataclass(frozen=True)
class HintBook:
    """One learner's hints of one lesson, on one open connection to the progress database: the
    state `hint()` picks the next hint from, then where it records the hint it shows."""

    lesson: str
    state: HintState
    conn: psycopg.Connection | None  # None: the progress database could not be opened
    as_learner: bool  # a class's learner, who records through the class's `record_hint`

    def record(self, hint: int) -> None:
        """Remember that hint number `hint` was shown (a learner: through the class's
        `record_hint`, which keys the row by the session's role, like `record_progress`)."""
        if self.conn is None:  # the log already says why
            return
        try:
            if self.as_learner:
                self.conn.execute("SELECT record_hint(%s, %s)", (self.lesson, hint))
                return
            self.conn.execute(
                "INSERT INTO hints_seen (prefix, lesson, hint) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (prefix(), self.lesson, hint),
            )
        except psycopg.Error as exc:  # never withhold a hint over its bookkeeping
            log.warning("Could not record the hint: %s", exc)


@contextlib.contextmanager
def hint_book(server: Server, lesson: str) -> Iterator[HintBook]:
    """This learner's hints of `lesson`, read on a connection that stays open to record the next:
    `hint()` opens one connection, not one to read and another to record.

    Hints are help, not progress: a progress database that cannot be opened or read gives a state
    with nothing seen (and a warning in the log), so the learner still gets a hint.
    """
    as_learner = learner_of(server) is not None
    try:
        conn = _connect(server)
    except (psycopg.Error, SetupError) as exc:
        log.warning("Could not read which hints you have seen: %s", exc)
        yield HintBook(lesson, NOTHING_SEEN, None, as_learner)
        return
    with conn:
        yield HintBook(lesson, _read_hints(conn, lesson, as_learner), conn, as_learner)


def _read_hints(conn: psycopg.Connection, lesson: str, as_learner: bool) -> HintState:
    try:
        if not as_learner:  # a learner may not create tables: the class's exist
            conn.execute(SCHEMA)
        latest = conn.execute(
            "SELECT failing_task FROM progress WHERE prefix = %s AND lesson = %s",
            (prefix(), lesson),
        ).fetchone()
        seen = conn.execute(
            "SELECT hint FROM hints_seen WHERE prefix = %s AND lesson = %s",
            (prefix(), lesson),
        ).fetchall()
    except psycopg.Error as exc:
        log.warning("Could not read which hints you have seen: %s", exc)
        return NOTHING_SEEN
    return HintState(
        latest is not None, latest[0] if latest else None, frozenset(h for (h,) in seen)
    )


def hint_state(server: Server, lesson: str) -> HintState:
    """This learner's latest check of `lesson` and the hints they have seen (`hint_book`)."""
    with hint_book(server, lesson) as book:
        return book.state
