"""One task list per lesson: every report of a lesson lists the same results, in the same order.

A learner compares two checks row by row ("task 3 passes now"): a row that appears only once the
rows before it pass reads as a new failure, and a report of 1 row ("1 of 1 checks failed") hides
how much work is left. So each grader declares its rows (`TASKS`), and the runner (`runner.py`)
passes what the grader returns through `complete()`: a row the grader could not check, because an
earlier step failed, is reported as a failure in one short line that names the row that stopped
it, never left out. A grader that knows better why the rest was not checked says so itself with
`every_task(TASKS, results, why)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from course_db.report import Result

Tasks = Sequence[tuple[int, str]]  # (task number in the README, the result's name), in order
Graded = list[dict[str, Any]]  # what a grader hands back to the parent: each row's Result fields


def complete(tasks: Tasks, results: Iterable[Result], why: str = "") -> Graded:
    """`every_task`, as the dicts the grader's process hands back to the parent."""
    return [row.__dict__.copy() for row in every_task(tasks, results, why)]


def every_task(tasks: Tasks, results: Iterable[Result], why: str = "") -> list[Result]:
    """Every row of `tasks`, in order: the grader's result for it, or a FAIL saying why it was
    not checked (`why`, or the last failed result, the one that stopped the grader).

    A result whose name is not in `tasks` is a course bug, and raises (the check then reports an
    error, not a verdict).
    """
    found = list(results)
    names = {name for _, name in tasks}
    unknown = [result.name for result in found if result.name not in names]
    if unknown:
        raise ValueError(f"results not listed in the lesson's task list (TASKS): {unknown}")
    by_name = {result.name: result for result in found}
    failed = [result for result in found if not result.passed]
    if not why:
        why = not_checked(failed[-1]) if failed else "Not checked."
    rows = [by_name.get(name) or Result(task, name, False, why) for task, name in tasks]
    # the declared task number wins: the README's numbering
    return [replace(row, task=task) for (task, _), row in zip(tasks, rows, strict=True)]


def not_checked(blocker: Result) -> str:
    """The one line for a row that could not run because `blocker` failed."""
    return f"Not checked: task {blocker.task} must pass first ({blocker.name})."
