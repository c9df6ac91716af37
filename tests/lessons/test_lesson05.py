"""Lesson 05's grader: the solution passes, the starter fails step by step with messages that name
the problem, bad input is a learner's failure, and a check never writes to the learner's folder.

The mutants (one per criterion of the grader) live in test_lesson05_mutants.py, so that xdist can
run the two files side by side: each check waits for real locks and takes a few seconds.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from every_lesson import Endless, stopped_check
from helpers import (
    Grade,
    GradeMutant,
    ProjectCopy,
    append,
    combine,
    delete,
    failure_text,
    replace,
    result_named,
)

from course_db.lessons import get_lesson
from course_db.paths import ROOT
from course_db.report import Report

LESSON = get_lesson("05")

VERSIONS = Path("migrations/versions")
# one result per revision, the app's (task 1 when it passes) and squawk's, in the README's order
# The data of the tests that every lesson runs (every_lesson.py; the harness adds them here):
SOLUTION_TASKS = [1, 1, 2, 3, 4, 4, 5, 6]
STARTER_FAILS = SOLUTION_TASKS  # the starter fails at every step
STARTER_SAYS: list[str] = []  # row by row: starter_rows


def starter_rows(report: Report) -> None:
    """Each revision's row, the releases' row and squawk's say what is wrong with that step."""
    expand = result_named(report, "0001_expand").message
    assert "waited" in expand and "never gave up" in expand
    assert "ACCESS EXCLUSIVE lock on users" in expand
    assert "ALTER TABLE users RENAME email TO email_address" in expand
    assert "SET LOCAL lock_timeout" in expand
    assert "v1 (running now) still reads and writes it" in expand
    assert "existed before 0003_index ran" in result_named(report, "0003_index").message
    assert "already gone before 0006_contract" in result_named(report, "0006_contract").message
    app = result_named(report, "v1 and v2").message
    assert 'column "email" does not exist' in app
    assert "add email_address next to it (expand)" in app
    lint = result_named(report, "squawk").message
    for rule in ("require-lock-timeout", "renaming-column", "adding-not-nullable-field"):
        assert rule in lint
    assert "require-concurrent-index-creation" in lint


def test_check_missing_revision_names_the_expected_chain(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(
        combine(
            delete(VERSIONS / "0005_validate.py"),
            replace(VERSIONS / "0006_contract.py", '"0005_validate"', '"0004_not_valid"'),
        )
    )
    assert [r.task for r in report.results] == SOLUTION_TASKS
    assert all(r.message.startswith("Not run: the chain") for r in report.results[1:])
    text = failure_text(report)
    assert "0001_expand, 0002_backfill, 0003_index, 0004_not_valid, 0006_contract." in text
    assert "Expected exactly: 0001_expand, 0002_backfill" in text


HANGS = Endless(
    replace(
        VERSIONS / "0002_backfill.py",
        '    op.execute("UPDATE users',
        '    op.execute("SELECT pg_sleep(600)")\n    op.execute("UPDATE users',
    ),
    timeout=8,
    within=30,  # of the lesson's 60 s
    says=["Running upgrade 0001_expand -> 0002_backfill"],
)


def test_check_revision_that_hangs_is_stopped_after_the_timeout(
    grade: Grade, project: ProjectCopy
) -> None:
    """Stopped as any lesson's endless loop is (`stopped_check`). Unlike the shared endless test it
    makes no next check: each check of this lesson waits for real locks and takes seconds."""
    stopped_check(grade, project, HANGS)


def test_check_syntax_error_points_at_the_file(grade_mutant: GradeMutant) -> None:
    report = grade_mutant(append(VERSIONS / "0004_not_valid.py", "\ndef broken(:\n    pass\n"))
    text = failure_text(report)
    assert "SyntaxError" in text and "0004_not_valid.py" in text, report.as_text()


def test_learner_squawk_config_is_the_course_config() -> None:
    """The exercise's .squawk.toml is a copy of the pinned one the grader uses."""
    lesson = LESSON
    course = tomllib.loads((ROOT / "course_db/graders/lesson05/squawk.toml").read_text())
    for folder in (lesson.starter_dir, lesson.solution_dir):
        assert tomllib.loads((folder / ".squawk.toml").read_text()) == course


def test_readme_index_recipe_and_squawk_agree(grade_mutant: GradeMutant) -> None:
    """README task 3, to the letter, must pass task 6: the README names `if_not_exists=True`
    (squawk's prefer-robust-stmts), and the grader says how to write it when it is missing."""
    readme = (LESSON.starter_dir / "README.md").read_text(encoding="utf-8")
    task3 = readme.split("## 3.", 1)[1].split("\n## ", 1)[0]
    assert "DROP INDEX CONCURRENTLY IF EXISTS" in task3
    assert "postgresql_concurrently=True" in task3 and "if_not_exists=True" in task3
    report = grade_mutant(
        replace(VERSIONS / "0003_index.py", "            if_not_exists=True,\n", "")
    )
    assert [r.name for r in report.failures()] == [result_named(report, "squawk").name]
    lint = result_named(report, "squawk").message
    assert "prefer-robust-stmts" in lint
    assert "In Alembic: op.create_index(..., if_not_exists=True)" in lint, lint
