"""Lesson 05's grader: the solution passes, the starter fails step by step with messages that name
the problem, bad input is a learner's failure, and a check never writes to the learner's folder.

The mutants (one per criterion of the grader) live in test_lesson05_mutants.py, so that xdist can
run the two files side by side: each check waits for real locks and takes a few seconds.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import assert_learner_failure, copies, edit, failure_text, tree_hash

from course_db.checking import run_check
from course_db.grading import Report, Result
from course_db.lessons import get_lesson
from course_db.paths import ROOT

Mutation = Callable[[Path], None]
VERSIONS = Path("migrations/versions")
# one result per revision, the app's (task 1 when it passes) and squawk's, in the README's order
ALL_TASKS = [1, 1, 2, 3, 4, 4, 5, 6]


def replace(filename: str, *pairs: str) -> Mutation:
    """replace(file, old, new, old2, new2, ...) in one revision of the copied project."""

    def mutate(project: Path) -> None:
        for old, new in zip(pairs[::2], pairs[1::2], strict=True):
            edit(project / VERSIONS / filename, old, new)

    return mutate


def combine(*mutations: Mutation) -> Mutation:
    def mutate(project: Path) -> None:
        for mutation in mutations:
            mutation(project)

    return mutate


@pytest.fixture
def copy05(tmp_path: Path) -> Callable[[str], Path]:
    """`copy05("solutions")` or `copy05("exercises")`: a fresh copy of lesson 05's project."""
    lesson = get_lesson("05")

    return copies(tmp_path, lesson)


@pytest.fixture
def grade05(warm: None) -> Callable[..., Report]:
    """`grade05(project, timeout=None)`: lesson 05's check, as `course check 05` runs it."""

    def run(project: Path, timeout: float | None = None) -> Report:
        return run_check("05", project=project, timeout=timeout)

    return run


def result(report: Report, starts: str) -> Result:
    """The one result whose name starts with `starts`: a revision id, "v1 and v2" or "squawk"."""
    (found,) = [item for item in report.results if item.name.startswith(starts)]
    return found


def test_check_solution_passes_and_leaves_the_folder_alone(
    grade05: Callable[..., Report], copy05: Callable[[str], Path]
) -> None:
    project = copy05("solutions")
    before = tree_hash(project)
    report = grade05(project)
    assert report.passed, report.as_text()
    assert [r.task for r in report.results] == ALL_TASKS
    assert tree_hash(project) == before
    assert not list(project.rglob("__pycache__"))


def test_check_untouched_starter_fails_at_every_step(
    grade05: Callable[..., Report], copy05: Callable[[str], Path]
) -> None:
    project = copy05("exercises")
    before = tree_hash(project)
    report = grade05(project)
    assert_learner_failure(report)
    assert [r.task for r in report.failures()] == ALL_TASKS
    expand = result(report, "0001_expand").message
    assert "waited" in expand and "never gave up" in expand
    assert "ACCESS EXCLUSIVE lock on users" in expand
    assert "ALTER TABLE users RENAME email TO email_address" in expand
    assert "SET LOCAL lock_timeout" in expand
    assert "v1 (running now) still reads and writes it" in expand
    assert "existed before 0003_index ran" in result(report, "0003_index").message
    assert "already gone before 0006_contract" in result(report, "0006_contract").message
    app = result(report, "v1 and v2").message
    assert 'column "email" does not exist' in app
    assert "add email_address next to it (expand)" in app
    lint = result(report, "squawk").message
    for rule in ("require-lock-timeout", "renaming-column", "adding-not-nullable-field"):
        assert rule in lint
    assert "require-concurrent-index-creation" in lint
    assert "Start with task 1" in report.summary()
    assert tree_hash(project) == before


def test_check_missing_revision_names_the_expected_chain(
    grade05: Callable[..., Report], copy05: Callable[[str], Path]
) -> None:
    project = copy05("solutions")
    (project / VERSIONS / "0005_validate.py").unlink()
    edit(project / VERSIONS / "0006_contract.py", '"0005_validate"', '"0004_not_valid"')
    report = grade05(project)
    assert_learner_failure(report)
    assert [r.task for r in report.results] == ALL_TASKS
    assert all(r.message.startswith("Not run: the chain") for r in report.results[1:])
    text = failure_text(report)
    assert "0001_expand, 0002_backfill, 0003_index, 0004_not_valid, 0006_contract." in text
    assert "Expected exactly: 0001_expand, 0002_backfill" in text


def test_check_revision_that_hangs_is_stopped_after_the_timeout(
    grade05: Callable[..., Report], copy05: Callable[[str], Path]
) -> None:
    project = copy05("solutions")
    replace(
        "0002_backfill.py",
        '    op.execute("UPDATE users',
        '    op.execute("SELECT pg_sleep(600)")\n    op.execute("UPDATE users',
    )(project)
    started = time.perf_counter()
    report = grade05(project, timeout=8)
    assert time.perf_counter() - started < 14
    assert_learner_failure(report)
    message = report.failures()[0].message
    assert "The check was stopped after 8 s" in message
    assert "Running upgrade 0001_expand -> 0002_backfill" in message


def test_check_syntax_error_points_at_the_file(
    grade05: Callable[..., Report], copy05: Callable[[str], Path]
) -> None:
    project = copy05("solutions")
    path = project / VERSIONS / "0004_not_valid.py"
    path.write_text(path.read_text(encoding="utf-8") + "\ndef broken(:\n    pass\n")
    report = grade05(project)
    assert_learner_failure(report)
    text = failure_text(report)
    assert "SyntaxError" in text and "0004_not_valid.py" in text, report.as_text()
    assert "/tmp/" not in text and "course-check-" not in text


def test_learner_squawk_config_is_the_course_config() -> None:
    """The exercise's .squawk.toml is a copy of the pinned one the grader uses."""
    lesson = get_lesson("05")
    course = tomllib.loads((ROOT / "course_db/checks/lesson05/squawk.toml").read_text())
    for folder in (lesson.starter_dir, lesson.solution_dir):
        assert tomllib.loads((folder / ".squawk.toml").read_text()) == course


def test_readme_index_recipe_and_squawk_agree(
    grade05: Callable[..., Report], copy05: Callable[[str], Path]
) -> None:
    """README task 3, to the letter, must pass task 6: the README names `if_not_exists=True`
    (squawk's prefer-robust-stmts), and the grader says how to write it when it is missing."""
    readme = (get_lesson("05").starter_dir / "README.md").read_text(encoding="utf-8")
    task3 = readme.split("## 3.", 1)[1].split("\n## ", 1)[0]
    assert "DROP INDEX CONCURRENTLY IF EXISTS" in task3
    assert "postgresql_concurrently=True" in task3 and "if_not_exists=True" in task3
    project = copy05("solutions")
    edit(project / VERSIONS / "0003_index.py", "            if_not_exists=True,\n", "")
    report = grade05(project)
    assert [r.name for r in report.failures()] == [result(report, "squawk").name]
    lint = result(report, "squawk").message
    assert "prefer-robust-stmts" in lint
    assert "In Alembic: op.create_index(..., if_not_exists=True)" in lint, lint
