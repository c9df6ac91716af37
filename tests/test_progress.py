"""Progress: a check of the learner's own exercise is recorded; a copy or a solution is not."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator

import psycopg
import pytest
from helpers import ProjectCopy
from psycopg import sql

from course_db import progress
from course_db.databases import admin
from course_db.errors import SetupError
from course_db.report import Report, Result
from course_db.runner import run_check
from course_db.server import Server


def test_checking_the_exercise_records_progress(
    warm: None, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_SOURCE", "exercises")
    report = run_check("01")  # the untouched starter: it fails
    assert report.status == "failed", report.as_text()
    entry = progress.load(server)["01"]
    assert entry.status == "failed" and not entry.ever_passed
    assert entry.total_tasks == len(report.results)
    assert entry.passed_tasks == sum(result.passed for result in report.results)


def test_grading_a_copy_or_the_solution_records_nothing(
    warm: None, server: Server, project_copy: ProjectCopy
) -> None:
    before = progress.load(server).get("01")
    assert run_check("01", project=project_copy("solutions")).passed  # `course check --project`
    assert run_check("01").passed  # COURSE_SOURCE=solutions: `course verify`, CI
    assert progress.load(server).get("01") == before


@pytest.fixture
def locked_out(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """A login role that may not connect to the progress database (CONNECT revoked from PUBLIC).

    The progress database is a private one for this test, so the shared `course_progress` that
    other checkouts use keeps its privileges.
    """
    role = f"course_test_locked_out_{os.getpid()}"
    database = f"{role}_progress"
    with admin(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x'").format(sql.Identifier(role)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        conn.execute(
            sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database))
        )
    monkeypatch.setattr(progress, "PROGRESS_DB", database)
    try:
        yield dataclasses.replace(server, user=role, password="x")
    finally:
        with admin(server) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def test_load_without_connect_privilege_is_a_setup_error(locked_out: Server) -> None:
    """`course list` prints an ERROR and a TIP, not psycopg's traceback."""
    with pytest.raises(SetupError) as raised:
        progress.load(locked_out)
    assert f'permission denied for database "{locked_out.user}_progress"' in raised.value.message
    assert "connection failed" not in raised.value.message
    assert raised.value.tip


def test_hints_without_connect_privilege_start_from_nothing_seen(
    locked_out: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """Hints are help: a progress database that cannot be opened gives nothing seen, and the hint
    shown is not recorded (the log says why, once)."""
    with progress.hint_book(locked_out, "01") as book:
        assert book.state == progress.HintState(False, None, frozenset())
        book.record(1)
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == 1 and "Could not read which hints you have seen" in warnings[0]


@pytest.fixture
def private_progress(server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A progress database of this test's own, made by `progress` itself on first use."""
    database = f"course_test_progress_{os.getpid()}"
    monkeypatch.setattr(progress, "PROGRESS_DB", database)
    try:
        yield database
    finally:
        with admin(server) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))


def test_record_keeps_the_first_pass_and_counts_every_check(
    server: Server, private_progress: str
) -> None:
    for passed in (False, True, False):
        progress.record(server, Report("01", [Result(1, "task", passed), Result(2, "task", True)]))
    entry = progress.load(server)["01"]
    assert (entry.status, entry.passed_tasks, entry.total_tasks) == ("failed", 1, 2)
    assert entry.ever_passed  # the pass in between is not forgotten
    with psycopg.connect(**server.conninfo(private_progress)) as conn:
        assert conn.execute("SELECT checks FROM progress").fetchall() == [(3,)]


def test_a_progress_database_from_before_hints_gains_their_column_and_table(
    server: Server, private_progress: str
) -> None:
    """A learner's `course_progress` made by an older course: the next check migrates it."""
    with admin(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(private_progress)))
    old = progress.SCHEMA.split(";")[0]  # CREATE TABLE progress, as before hints: no failing_task
    with psycopg.connect(**server.conninfo(private_progress), autocommit=True) as conn:
        conn.execute(old)  # the table as it was: no failing_task, no hints_seen
    progress.record(server, Report("01", [Result(1, "task", True), Result(2, "task", False)]))
    progress.record(server, Report("01", [Result(1, "task", True), Result(2, "task", False)]))
    assert progress.hint_state(server, "01") == progress.HintState(True, 2, frozenset())
