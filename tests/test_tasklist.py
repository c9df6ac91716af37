"""One task list per lesson: whatever the learner wrote, a lesson's report lists the same tasks
(numbers and names, in order), so two checks compare row by row; a task that could not run is a
FAIL that says why, never a missing row."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from helpers import copies

from course_db.checking import run_check
from course_db.checks.tasklist import complete
from course_db.grading import Result
from course_db.lessons import all_lessons

NUMBERS = [lesson.number for lesson in all_lessons()]


@pytest.mark.parametrize("number", NUMBERS)
def test_starter_and_solution_reports_list_the_same_tasks(
    warm: None, tmp_path: Path, number: str
) -> None:
    lesson = next(lesson for lesson in all_lessons() if lesson.number == number)
    copy = copies(tmp_path, lesson)
    starter = run_check(number, project=copy("exercises"))
    solution = run_check(number, project=copy("solutions"))
    assert solution.passed, solution.as_text()
    assert not starter.passed and not starter.error, starter.as_text()
    declared = importlib.import_module(f"course_db.checks.lesson{number}").TASKS
    assert [(r.task, r.name) for r in solution.results] == list(declared)
    assert [(r.task, r.name) for r in starter.results] == list(declared), starter.as_text()


def test_complete_fills_a_row_the_grader_never_reached_naming_the_one_that_stopped_it() -> None:
    tasks = [(1, "upgrade runs"), (2, "rows are right"), (3, "downgrade")]
    rows = complete(tasks, [Result(1, "upgrade runs", False, "boom")])
    assert [(row["task"], row["name"], row["passed"]) for row in rows] == [
        (1, "upgrade runs", False),
        (2, "rows are right", False),
        (3, "downgrade", False),
    ]
    assert rows[1]["message"] == "Not checked: task 1 must pass first (upgrade runs)."


def test_complete_refuses_a_result_outside_the_task_list() -> None:
    with pytest.raises(ValueError, match="not listed"):
        complete([(1, "upgrade runs")], [Result(1, "something else", True)])
