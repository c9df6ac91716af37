"""Lesson 06's grader: the learner's tests are graded by mutation. The solution's tests pass on the
good histories and catch every broken one; tests that miss a broken history, or fail on a good
one, get a message naming it; bad input is a clear failure; nothing is written to the folder and
no database is left behind."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from every_lesson import MUTATION_HARNESS, Endless
from helpers import GradeMutant, Mutation, ProjectCopy, delete, failure_text, replace, write
from psycopg import sql

from course_db import databases
from course_db.graders.lesson06 import RUN_TIMEOUT, results
from course_db.graders.lesson06.histories import (
    BASE,
    BROKEN,
    REFORMATTED,
    build,
    histories,
    task_of,
)
from course_db.graders.mutation.harness import run_tests_against
from course_db.graders.mutation.plugin import drop_stale_runs
from course_db.lessons import get_lesson
from course_db.server import Server

LESSON = get_lesson("06")
pytestmark = MUTATION_HARNESS  # one xdist worker for the checks that run many pytest processes
TESTS = Path("tests/test_migrations.py")


def leftover_run_databases(server: Server) -> list[str]:
    """The mutation harness's databases of this run, marked or not (by name, from pg_database)."""
    stem = re.compile(re.escape(databases.db_name("06", "")) + r"[mp]\d+x\d+_\d+$")
    with databases.admin(server) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    return [name for name in names if stem.match(name)]


@pytest.fixture(autouse=True)
def no_run_database_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test of this file that runs the mutation harness (a check, or the harness on
    chosen histories), none of its databases is left: passing, failing or stopped."""
    if not {"grade", "server"} & set(request.fixturenames):
        yield  # reads files only: no server to ask
        return
    server: Server = request.getfixturevalue("server")
    yield
    assert not leftover_run_databases(server)


# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 2, 3]
STARTER_FAILS = [1, 1, 2, 3]
STARTER_SAYS = [
    "tests/test_migrations.py has no test yet",
    "Start with README task 1",
    "Not graded yet: first make your tests pass on the good history",
]


STAIRWAY = """    while alembic_runner.roundtrip_next_revision():
        pass"""
NAME_ASSERT = 'assert rows(alembic_engine, "name") == NAMES'
DISPLAY_ASSERT = 'assert rows(alembic_engine, "display_name") == NAMES'
STANDARD_IMPORTS = """    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,"""

# A full check runs the learner's tests on all eight histories. Two mutants take that path, one
# per verdict: a broken history missed (no_stairway) and a good history failing
# (data_test_downgrades_too_far).
# mutation of the learner's tests -> (failing tasks, phrases the failures must contain)
MUTANTS: dict[str, tuple[Mutation, list[int], list[str]]] = {
    "no_stairway": (
        replace(TESTS, STAIRWAY, '    alembic_runner.migrate_up_to("heads")'),
        [2],
        [
            "Your tests passed on 1 of 1 broken histories",
            "  - an index that its downgrade does not drop (0003)",
        ],
    ),
    "data_test_downgrades_too_far": (
        replace(
            TESTS, "alembic_runner.migrate_down_one()", 'alembic_runner.migrate_down_to("base")'
        ),
        [1, 1, 2, 3],
        [
            "Your tests fail on the exercise's migration history and the same history written "
            "with op.execute",
            "FAILED tests/test_migrations.py::test_rename_keeps_every_name",
            'relation "users" does not exist',
            "Not graded yet",
        ],
    ),
}

# The other mutants run the same mutation harness and the grader's own `results` on the histories
# that decide their verdict: the good ones, plus the broken ones of the task they fail (each task's
# verdict reads only its own broken histories; with no task, a good history fails and every other
# task is "Not graded yet", whatever the broken runs say).
# mutation -> (failing tasks, phrases the failures must contain, the tasks whose broken histories
# run)
ON_HISTORIES: dict[str, tuple[Mutation, list[int], list[str], set[int]]] = {
    "data_test_only_upgrades": (
        replace(TESTS, "    alembic_runner.migrate_down_one()\n    " + NAME_ASSERT + "\n", ""),
        [3],
        [
            "Your tests passed on 1 of 2 broken histories",
            "  - a downgrade that loses data (0004 drops display_name and adds an empty name)",
        ],
        {3},
    ),
    "data_test_counts_rows_only": (
        replace(
            TESTS,
            DISPLAY_ASSERT,
            'assert len(rows(alembic_engine, "display_name")) == len(NAMES)',
            NAME_ASSERT,
            'assert len(rows(alembic_engine, "name")) == len(NAMES)',
        ),
        [3],
        [
            "Your tests passed on 2 of 2 broken histories",
            "  - an upgrade that loses data (0004 adds an empty display_name and drops name)",
            "  - a downgrade that loses data",
        ],
        {3},
    ),
    "no_single_head_or_model_test": (
        replace(
            TESTS,
            STANDARD_IMPORTS,
            "    test_up_down_consistency,",
            '    "test_model_definitions_match_ddl",\n    "test_single_head_revision",\n',
            "",
        ),
        [1],
        [
            # two heads still fail the stairway and the data test: `upgrade +1` is ambiguous
            "Your tests passed on 1 of 3 broken histories",
            "  - models that drift from the migrations (User has an avatar_url",
        ],
        {1},
    ),
    # bad input: the learner's tests cannot even be collected
    "syntax_error": (
        replace(TESTS, "def test_stairway(", "def test_stairway(("),
        [1, 1, 2, 3],
        ["SyntaxError", "Not graded yet"],
        set(),
    ),
    "exception_at_import": (
        replace(TESTS, "USERS = [", "raise RuntimeError('boom')\nUSERS = ["),
        [1, 1, 2, 3],
        ["RuntimeError: boom", "Not graded yet"],
        set(),
    ),
    "seed_style_test_on_the_seeds_url": (
        replace(
            TESTS,
            "def test_stairway(",
            "def test_tables_exist() -> None:\n"
            "    from alembic import command\n"
            "    from alembic.config import Config\n\n"
            '    test_url = "postgresql+psycopg://test:test@localhost/test_db"\n'
            '    config = Config("alembic.ini")\n'
            '    config.set_main_option("sqlalchemy.url", test_url)\n'
            '    command.upgrade(config, "head")\n'
            "    with sa.create_engine(test_url).connect() as connection:\n"
            '        assert connection.execute(sa.text("SELECT 1")).scalar() == 1\n\n\n'
            "def test_stairway(",
        ),
        [1, 1, 2, 3],
        [
            "FAILED tests/test_migrations.py::test_tables_exist",
            "frames in pytest-alembic, Alembic, SQLAlchemy: hidden by the course",
        ],
        set(),
    ),
}


@pytest.mark.parametrize("name", sorted(ON_HISTORIES))
def test_mutant_verdict_names_the_problem(
    project: ProjectCopy, server: Server, tmp_path: Path, name: str
) -> None:
    mutate, tasks, phrases, deciding = ON_HISTORIES[name]
    folder = project("solutions")
    mutate(folder)
    template = databases.ensure_template(server, LESSON.number, LESSON.fixture_path)
    chosen = [
        history
        for history in histories(tmp_path / "histories")
        if history.should_pass or task_of(history) in deciding
    ]
    runs = run_tests_against(folder / "tests", chosen, server, template, RUN_TIMEOUT)
    found = results(runs)
    failed = [r for r in found if not r.passed]
    text = "\n".join(r.message for r in failed)
    assert [r.task for r in failed] == tasks, text
    for phrase in phrases:
        assert phrase in text, text


def test_tests_that_check_nothing_miss_every_broken_history(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(write(TESTS, "def test_nothing():\n    pass\n"))
    assert [r.task for r in report.failures()] == [1, 2, 3]
    text = failure_text(report)
    for name in BROKEN:
        assert f"  - {name}" in text


BAD_INPUT: dict[str, tuple[Mutation, str]] = {  # tests that cannot run: MUTANTS, above
    "missing_tests_file": (
        delete(TESTS),
        "There is no tests/test_*.py file",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_check_bad_input_is_a_clear_failure(grade_mutant: GradeMutant, name: str) -> None:
    mutate, phrase = BAD_INPUT[name]
    report = grade_mutant(mutate)
    assert phrase in failure_text(report), report.as_text()


# The learner's stairway never ends: it sleeps rather than spins, since eight pytest runs spinning
# for 8 s would take every core from the rest of the suite. The time limit stops either the same
# way (SIGKILL to the check's process group); lessons 01, 08 and 10 stop a spinning loop.
ENDLESS = Endless(
    replace(TESTS, STAIRWAY, '    while True:\n        __import__("time").sleep(0.5)'),
    timeout=8,
    within=30,  # of the lesson's 45 s
    says=[],
)


@pytest.mark.server_agnostic
def test_history_base_is_the_exercises_project() -> None:
    """The histories are built from the solution's project, which must be the exercise's."""
    for relative in ("alembic.ini", "app/models.py", "migrations/env.py"):
        for tree in (LESSON.starter_dir, LESSON.solution_dir):
            assert (BASE / relative).read_bytes() == (tree / relative).read_bytes(), relative
    for path in (BASE / "migrations" / "versions").glob("*.py"):
        for tree in (LESSON.starter_dir, LESSON.solution_dir):
            assert path.read_bytes() == (tree / "migrations/versions" / path.name).read_bytes()


@pytest.mark.server_agnostic
def test_every_history_edit_applies(tmp_path: Path) -> None:
    build(tmp_path / "reformatted", REFORMATTED)
    for index, (_, edits) in enumerate(BROKEN.values()):
        build(tmp_path / f"b{index}", edits)


def test_a_run_first_drops_what_an_earlier_holder_of_its_pid_left(server: Server) -> None:
    """Pids wrap: a database named for this process's pid, found before its run made any, was
    left half made (no marker) by an earlier process with the same pid; the run drops it."""
    name = databases.db_name("06", f"m{os.getpid()}x0_1")
    with databases.admin(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        drop_stale_runs(server, "06")
        assert name not in leftover_run_databases(server)
    finally:
        with databases.admin(server) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
