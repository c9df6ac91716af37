"""Hints: one at a time, starting at the task the last check failed, remembered with the progress;
in a workshop each learner's hints are theirs alone (row-level security and `record_hint`)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from workshop_support import Class, a_class, course, needs_service

from course_db import hints, progress
from course_db.board import load_board
from course_db.cli import main
from course_db.databases import course_databases, drop_database, prefix
from course_db.lessons import Hint, get_lesson
from course_db.roles import progress_db
from course_db.runner import run_check
from course_db.server import Server, parse_admin_url


def test_hints_start_at_the_given_task_then_go_on_then_wrap_around() -> None:
    tasks = (Hint(1, "a"), Hint(2, "b"), Hint(2, "c"), Hint(3, "d"), Hint(4, "e"))
    assert hints.order(tasks, 1) == [1, 2, 3, 4, 5]
    assert hints.order(tasks, 2) == [2, 3, 4, 5, 1]
    assert hints.order(tasks, 4) == [5, 1, 2, 3, 4]
    assert hints.order(tasks, 9) == [1, 2, 3, 4, 5]  # a task without hints: from the first


def test_every_hint_names_a_task_of_its_readme() -> None:
    from course_db.lessons import all_lessons

    for lesson in all_lessons():
        titles = hints.task_titles(lesson)
        assert lesson.hints, lesson.number
        for hint in lesson.hints:
            assert hint.task in titles, (lesson.number, hint)
            assert not hint.text.startswith("Task "), (lesson.number, hint.text)  # said once


@pytest.fixture
def as_learner(warm: None, server: Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    """The learner's own exercise, under a prefix of this test's own (its progress is new)."""
    mine = f"{prefix()}_hint"
    monkeypatch.setenv("COURSE_SOURCE", "exercises")
    monkeypatch.setenv("COURSE_DB_PREFIX", mine)
    yield server
    for name in course_databases(server):  # the template its check built, under its own prefix
        drop_database(server, name)
    with psycopg.connect(**server.conninfo(progress.PROGRESS_DB), autocommit=True) as conn:
        for table in ("progress", "hints_seen"):
            conn.execute(f"DELETE FROM {table} WHERE prefix = %s", (mine,))  # type: ignore[arg-type]


def test_hints_follow_the_first_failing_task_one_at_a_time_and_are_remembered(
    as_learner: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    lesson = get_lesson("01")
    first = hints.next_hint(lesson)  # no check yet: from task 1 on (01's first hint is task 2's)
    assert first.number == 1 and "not checked lesson 01 yet" in first.as_text()
    report = run_check("01")  # the untouched starter: its first failure is task 2
    assert report.failures()[0].task == 2, report.as_text()
    assert progress.hint_state(as_learner, "01").failing_task == 2
    shown = [hints.next_hint(lesson) for _ in lesson.hints]
    assert [answer.number for answer in shown] == [2, 3, 4, 5, None]
    assert "stopped at task 2" in shown[0].as_text()
    assert (
        shown[0]
        .as_text()
        .startswith(f"Hint 2 of 5, task 2 (Fill it: one slug per author): {lesson.hints[1].text}")
    )
    assert "You have seen all 5 hints of lesson 01" in shown[-1].as_text()
    assert progress.hint_state(as_learner, "01").seen == {1, 2, 3, 4, 5}
    assert main(["hint", "01", "--seen"]) == 0  # the CLI reads the same record
    out = capsys.readouterr().out
    assert [line.split(",")[0] for line in out.splitlines()] == [f"Hint {n}" for n in range(1, 6)]


def test_hints_seen_earlier_are_not_shown_again(
    as_learner: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    lesson = get_lesson("04")
    with progress.hint_book(as_learner, "04") as book:
        book.record(1)
    assert main(["hint", "04"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Hint 2 of {len(lesson.hints)}, task 1 (Backfill `full_name`")
    assert "not checked lesson 04 yet" in out and "more: ask again." in out


def test_a_hint_is_read_and_recorded_on_one_connection(
    as_learner: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading which hints were seen and recording the one shown share one connection."""
    opened: list[Server] = []
    connect = progress._connect

    def counted(server: Server) -> psycopg.Connection:
        opened.append(server)
        return connect(server)

    monkeypatch.setattr(progress, "_connect", counted)
    assert hints.next_hint(get_lesson("01")).number == 1
    assert opened == [as_learner]
    assert progress.hint_state(as_learner, "01").seen == {1}


@pytest.fixture(scope="module")
def klass() -> Iterator[Class]:
    with a_class(["ana", "bob"]) as made:
        yield made


@needs_service
def test_a_learners_hints_are_theirs_alone_and_the_board_counts_them(klass: Class) -> None:
    ana = klass.urls["ana"]
    said = course(ana, "hint", "02")
    assert said.returncode == 0 and said.stdout.startswith("Hint 1 of 5, task 1"), said
    assert "WARNING" not in said.stderr and "Could not" not in said.stderr, said.stderr
    assert course(ana, "hint", "02").stdout.startswith("Hint 2 of 5, task 2")
    bob = parse_admin_url(klass.urls["bob"])
    with psycopg.connect(**bob.conninfo(progress_db(klass.group)), autocommit=True) as conn:  # type: ignore[arg-type]
        assert conn.execute("SELECT prefix FROM hints_seen").fetchall() == []  # not Ana's rows
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO hints_seen (prefix, lesson, hint) VALUES (%s, '02', 3)",
                (klass.role("ana"),),
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM hints_seen")
        conn.execute("SELECT record_hint('02', 4)")  # keyed by Bob's own role, whatever he passes
        conn.execute("SELECT record_progress('02', 'failed', 0, 5, 1)")
    rows = klass.admin_sql(
        "SELECT prefix, hint FROM hints_seen ORDER BY prefix, hint", dbname=progress_db(klass.group)
    )
    assert rows == sorted([(klass.role("ana"), 1), (klass.role("ana"), 2), (klass.role("bob"), 4)])
    assert course(ana, "check", "02").returncode == 1  # the starter: a progress row for the board
    board = {row.learner: row.hints for row in load_board(klass.server, klass.name).rows}
    assert board == {"ana": 2, "bob": 1}
