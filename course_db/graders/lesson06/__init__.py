"""Lesson 06's grader: the learner's `tests/` must tell good migration histories from broken ones.

Runs in the isolated child, with the learner's project copied to `root`. The learner's tests
are run by the mutation harness (`graders/mutation/`) once per history of `histories.py`, all
in parallel: they must pass on the exercise's history and on an equivalent rewrite of it, and
fail on each broken history. Each broken history belongs to the README task whose tests should
catch it, so a miss reads "Task 3: ... an upgrade that loses data". The database the course
cloned for this check (`databases`) is not used: every test gets its own, from the template.
"""

from __future__ import annotations

import re
from pathlib import Path

from course_db.databases import ensure_template
from course_db.graders.lesson06.histories import histories, task_of
from course_db.graders.mutation.harness import (
    HistoryRun,
    broken_result,
    good_result,
    run_tests_against,
)
from course_db.graders.tasklist import every_task
from course_db.isolation import scratch_dir
from course_db.lesson_databases import Databases
from course_db.lessons import get_lesson
from course_db.report import Result
from course_db.server import get_server

RUN_TIMEOUT = 30.0  # one history's pytest run; all run at once, within the lesson's check_timeout
TASK_NAMES = {
    1: "Your standard tests catch two heads, drifting models and a table left behind",
    2: "Your stairway test catches an index that its downgrade leaves behind",
    3: "Your data test catches an upgrade and a downgrade that lose data",
}
GOOD = "Your tests pass on the good migration histories"
TASKS = [(1, GOOD), *TASK_NAMES.items()]
NOT_YET = "Not graded yet: first make your tests pass on the good history (the first result)."
TEST_LIKE = re.compile(r"^\s*def test_|pytest_alembic\.tests", re.MULTILINE)


def grade(root: Path, databases: Databases) -> list[Result]:
    missing = missing_tests(root)
    if missing:
        return every_task(TASKS, [Result(1, GOOD, False, missing)], NOT_YET)
    server = get_server()
    lesson = get_lesson("06")
    template = ensure_template(server, lesson.number, lesson.fixture_path)
    with scratch_dir("histories") as tmp:
        runs = run_tests_against(
            root / "tests", histories(Path(tmp)), server, template, RUN_TIMEOUT, lesson="06"
        )
    return results(runs)


def results(runs: list[HistoryRun]) -> list[Result]:
    good = [run for run in runs if run.history.should_pass]
    found = [good_result(1, good, GOOD)]
    for task, name in TASK_NAMES.items():
        mine = [run for run in runs if not run.history.should_pass and task_of(run.history) == task]
        found.append(broken_result(task, good + mine, name))
    if not found[0].passed:  # a test that fails everywhere "catches" every broken history
        found[1:] = [Result(r.task, r.name, False, NOT_YET) for r in found[1:]]
    return found


def missing_tests(root: Path) -> str:
    """Why there is nothing to run yet, or '' when tests/ holds at least one test."""
    tests = root / "tests"
    files = sorted(tests.glob("test_*.py")) + sorted(tests.glob("*_test.py"))
    if not files:
        return (
            "There is no tests/test_*.py file: write your tests in tests/test_migrations.py "
            "(the README's tasks say which)."
        )
    for path in files:
        if TEST_LIKE.search(path.read_text(encoding="utf-8", errors="replace")):
            return ""
    return (
        "tests/test_migrations.py has no test yet: pytest runs the functions whose names start "
        "with test_ (and the pytest-alembic tests you import). Start with README task 1."
    )
