"""One task list per lesson: whatever the learner wrote, a lesson's report lists the same tasks
(numbers and names, in order), so two checks compare row by row; a task that could not run is a
FAIL that says why, never a missing row.

`complete` is tested here; that every lesson's every report lists its grader's TASKS is asserted
by the lesson harness (`tests/lessons/conftest.py`) on each report the lesson tests grade."""

from __future__ import annotations

import pytest

from course_db.graders.tasklist import complete
from course_db.report import Result

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests


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
