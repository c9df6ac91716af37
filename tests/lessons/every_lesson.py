"""The tests that every lesson's grader must pass, written once, and run on each lesson's data.

A lesson's test module declares data; for each name in `BY_DATA` that it declares, the harness
(conftest.py's `LessonModule`) adds the matching test below to the module, so pytest collects it
there as one of the module's own (`test_lesson04.py::test_check_solution_passes`): the harness's
fixtures grade that module's lesson, and the test reads the module's data (`request.module`).

- `SOLUTION_TASKS` -> `test_check_solution_passes`: each row's task in the solution's report.
- `STARTER_FAILS` -> `test_check_untouched_starter_fails_with_task_messages`: each failing row's
  task, in order, with `STARTER_SAYS`, phrases of the failures (an `Absent` one must not be
  there) and, where the lesson has more to say of single rows, its function `starter_rows(report)`.
- `MUTANTS` -> `test_check_mutant_fails_naming_the_problem`: one test per mutant, see there.
- `EQUIVALENT` -> `test_check_equivalent_solution_passes`: one test per other way of solving the
  lesson, a mutation of the solution (name -> mutate) that must pass.
- `ENDLESS` -> `test_check_endless_loop_is_stopped_and_the_next_check_passes`: an `Endless`;
  the next check is the solution's, so this test replaces `test_check_solution_passes` there
  (`DONE_BY`). Lesson 05, whose checks wait for real locks, calls `stopped_check` in its own
  test, with no next check.

A lesson's `test_lessonNN.py` declares at least the solution's and the starter's data. A check is
the expensive unit: each test here makes one (the endless one, two), and a lesson says what else
must hold of the same report through its data and hooks, never by a second check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from helpers import (
    Grade,
    GradeMutant,
    Mutation,
    ProjectCopy,
    assert_learner_failure,
    assert_says,
    grade_untouched,
    result_named,
)

from course_db.report import Report

# Each check of lessons 06 and 10 runs the learner's tests in several pytest processes at once (the
# mutation harness), each within a 30 s limit: two such checks at once on a 2-core machine can
# exceed it, so their files' tests share one xdist worker (as under `--dist loadfile`):
# `pytestmark = MUTATION_HARNESS`.
MUTATION_HARNESS = pytest.mark.xdist_group("mutation_harness")


@dataclass(frozen=True)
class Endless:
    """An edit of the solution after which the check never ends, and what its stop must show."""

    mutate: Mutation
    timeout: int  # the check's limit in this test (seconds), well under the lesson's
    # at most how long the stopped check took: above `timeout`, under the lesson's limit (slack
    # for load), so it proves the check stopped at its own limit
    within: float
    says: list[str]  # phrases of the first failure, besides "The check was stopped after N s"


def first_failure_task(report: Report) -> int:
    """The task the learner is sent to: the first failing row's (`Report.summary` says it)."""
    return report.failures()[0].task


def test_check_solution_passes(
    grade: Grade, project: ProjectCopy, request: pytest.FixtureRequest
) -> None:
    """The solution passes every row, and the check writes nothing to the learner's folder."""
    check_solution(grade, project, request.module.SOLUTION_TASKS)


def check_solution(grade: Grade, project: ProjectCopy, tasks: list[int]) -> None:
    report = grade_untouched(project("solutions"), grade)
    assert report.passed, report.as_text()
    assert report.exit_code == 0
    assert [r.task for r in report.results] == tasks


def test_check_untouched_starter_fails_with_task_messages(
    grade: Grade, project: ProjectCopy, request: pytest.FixtureRequest
) -> None:
    """The starter, as a learner first checks it, fails the tasks still to do with messages that
    say what to do, and the summary sends the learner to the first of them."""
    lesson = request.module
    report = grade_untouched(project("exercises"), grade)
    assert_learner_failure(report)
    assert [r.task for r in report.failures()] == lesson.STARTER_FAILS, report.as_text()
    assert_says(report, lesson.STARTER_SAYS)
    assert f"Start with task {lesson.STARTER_FAILS[0]}" in report.summary()
    rows = getattr(lesson, "starter_rows", None)
    if rows is not None:
        rows(report)


def test_check_mutant_fails_naming_the_problem(
    grade_mutant: GradeMutant, request: pytest.FixtureRequest, mutant: str
) -> None:
    """One mutant of the solution per criterion: the check fails there, and says why.

    `MUTANTS[mutant]` is (mutate, expected, says): `mutate` edits a copy of the solution, `says`
    are phrases of the failures (`assert_says`), and `expected` is where it fails:

    - an int: the task the learner is sent to first, the module's `task_to_fix(report)` where the
      first failing row is not that task's (lessons 03 and 10), else the first failing row's;
    - a list: every failing row's task, in order (lessons 06 and 07);
    - a str: the start of the name of a row that fails, where a task has several (lesson 05).
    """
    lesson = request.module
    mutate, expected, says = lesson.MUTANTS[mutant]
    report = grade_mutant(mutate)
    if isinstance(expected, str):
        assert not result_named(report, expected).passed, report.as_text()
    elif isinstance(expected, list):
        assert [r.task for r in report.failures()] == expected, report.as_text()
    else:
        task_to_fix = getattr(lesson, "task_to_fix", first_failure_task)
        assert task_to_fix(report) == expected, report.as_text()
    assert_says(report, says)


def test_check_equivalent_solution_passes(
    grade: Grade, project: ProjectCopy, request: pytest.FixtureRequest, variant: str
) -> None:
    """Another way to do what the README asks passes too: the grader checks what the project
    does, not that it is written as the solution is."""
    folder = project("solutions")
    request.module.EQUIVALENT[variant](folder)
    report = grade_untouched(folder, grade)
    assert report.passed, report.as_text()


def stopped_check(grade: Grade, project: ProjectCopy, endless: Endless) -> Report:
    """The check of the solution with `endless.mutate`: stopped at its own limit, it is a failure
    the learner can act on, the rows after the stopped one say they were not checked, and the
    learner's folder is as it was."""
    folder = project("solutions")
    endless.mutate(folder)
    started = time.perf_counter()
    report = grade_untouched(folder, grade, timeout=endless.timeout)
    elapsed = time.perf_counter() - started
    assert elapsed < endless.within, elapsed
    assert_learner_failure(report)
    first = report.failures()[0]
    for phrase in [f"The check was stopped after {endless.timeout} s", *endless.says]:
        assert phrase in first.message, report.as_text()
    rest = report.results[report.results.index(first) + 1 :]
    assert all("Not checked" in r.message for r in rest), report.as_text()
    return report


def test_check_endless_loop_is_stopped_and_the_next_check_passes(
    grade: Grade, project: ProjectCopy, request: pytest.FixtureRequest
) -> None:
    """A learner's endless loop is stopped at the limit (`stopped_check`), and it leaves nothing
    behind that would fail the learner's next check: the check of the solution, which asserts all
    of `test_check_solution_passes` (a lesson with `ENDLESS` does not run that one as well).

    A lesson that must show more of the stop defines `after_stopped_check()` (lesson 07: the
    script's own processes are gone)."""
    lesson = request.module
    stopped_check(grade, project, lesson.ENDLESS)
    after = getattr(lesson, "after_stopped_check", None)
    if after is not None:
        after()
    check_solution(grade, project, lesson.SOLUTION_TASKS)


# the data a lesson module declares -> the test it gets
BY_DATA = {
    "SOLUTION_TASKS": test_check_solution_passes,
    "STARTER_FAILS": test_check_untouched_starter_fails_with_task_messages,
    "MUTANTS": test_check_mutant_fails_naming_the_problem,
    "EQUIVALENT": test_check_equivalent_solution_passes,
    "ENDLESS": test_check_endless_loop_is_stopped_and_the_next_check_passes,
}
# data -> the data of a test that makes the same check and asserts as much (the endless test's
# second check is the solution's): a lesson declaring both gets only that test
DONE_BY = {"SOLUTION_TASKS": "ENDLESS"}
# a parameter of those tests -> the data whose names it takes, one test each (conftest.py)
PARAMETERS = {"mutant": "MUTANTS", "variant": "EQUIVALENT"}
# every test_lessonNN.py declares these: without them a lesson would lose its first tests silently
REQUIRED = ("SOLUTION_TASKS", "STARTER_FAILS", "STARTER_SAYS")
