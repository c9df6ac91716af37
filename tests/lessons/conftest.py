"""The lesson harness: every `test_lessonNN.py` here grades copies of its own lesson's folders.

A test module names its lesson once, `LESSON = get_lesson("NN")`; these fixtures read it, so no
lesson file declares its own:

- `project("solutions")` / `project("exercises")`: a fresh copy of the lesson's folder in tmp_path;
- `grade(folder, timeout=None)`: the lesson's check of `folder`, exactly as `course check --project`
  runs it (isolated child, fresh database, nothing written to `folder`);
- `grade_mutant(mutate)`: the check of a solution copy that `mutate` edited, asserted to be a
  failure the learner can act on (`helpers.assert_learner_failure`) that left the copy as it was
  (`helpers.grade_untouched`).

Mutations of a copy are helpers: `replace(path, old, new, ...)` (each `old` exactly once),
`append`, `write`, `delete`, `loop_after`, and `combine` to apply several.

`grade` also asserts what must hold for every report of every lesson, whatever was graded:

- the report lists the grader's `TASKS` (numbers and names, in order), so two checks compare row
  by row and a task that could not run is a FAIL that says why, never a missing row;
- an untouched starter's first failure opens in at most NOTEBOOK_LINES lines of the notebook
  (the rest is folded, never lost): what a newcomer reads before touching anything.

The tests that every lesson runs (the solution, the starter, the mutants, other ways of solving
it, an endless loop) are written once, in `every_lesson.py`: a lesson's module declares their
data, and `LessonModule` adds them to it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import every_lesson
import pytest
from helpers import (
    Grade,
    GradeMutant,
    Mutation,
    ProjectCopy,
    assert_learner_failure,
    copies,
    grade_untouched,
    tree_hash,
)

from course_db.lessons import Lesson
from course_db.report import NOTEBOOK_LINES, Report, split_open, wrapped
from course_db.runner import run_check


def module_lesson(request: pytest.FixtureRequest) -> Lesson:
    lesson = getattr(request.module, "LESSON", None)
    assert isinstance(lesson, Lesson), f"{request.module.__name__} must set LESSON = get_lesson(..)"
    return lesson


class LessonModule(pytest.Module):
    """A test module of this folder, with the tests of `every_lesson.BY_DATA` for the data it
    declares, collected as its own: a lesson file holds its data and its own tests, not a block
    of imports that every lesson file would repeat."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        module = self.obj
        if re.fullmatch(r"test_lesson\d\d", self.path.stem):
            missing = [name for name in every_lesson.REQUIRED if not hasattr(module, name)]
            assert not missing, f"{self.path.name} must declare {missing} (every_lesson.py)"
        for data, test in every_lesson.BY_DATA.items():
            done_by = every_lesson.DONE_BY.get(data)
            if hasattr(module, data) and not (done_by and hasattr(module, done_by)):
                own = getattr(module, test.__name__, test)
                assert own is test, f"{self.path.name}: {data} or {test.__name__}, not both"
                setattr(module, test.__name__, test)
        return super().collect()


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module:
    """Every test module here is a lesson's: `LessonModule`."""
    return LessonModule.from_parent(parent, path=module_path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test of `every_lesson` per entry of the module's data that its parameter names
    (`every_lesson.PARAMETERS`: a mutant of `MUTANTS`, ...), the entry's name its id."""
    if metafunc.function not in every_lesson.BY_DATA.values():
        return
    for parameter, data in every_lesson.PARAMETERS.items():
        if parameter in metafunc.fixturenames:
            metafunc.parametrize(parameter, sorted(getattr(metafunc.module, data)))


@pytest.fixture
def starters() -> dict[Path, str]:
    """The copies of the starter that this test made, each with its `tree_hash` when copied."""
    return {}


@pytest.fixture
def project(
    request: pytest.FixtureRequest, tmp_path: Path, starters: dict[Path, str]
) -> ProjectCopy:
    """`project("solutions")` or `project("exercises")`: a fresh copy of the module's lesson."""
    copy = copies(tmp_path, module_lesson(request))

    def make(source: str = "solutions") -> Path:
        folder = copy(source)
        if source == "exercises":
            starters[folder] = tree_hash(folder)
        return folder

    return make


@pytest.fixture
def grade(request: pytest.FixtureRequest, warm: None, starters: dict[Path, str]) -> Grade:
    """`grade(folder, timeout=None)`: the module's lesson's check of `folder`."""
    number = module_lesson(request).number
    tasks = list(importlib.import_module(f"course_db.graders.lesson{number}").TASKS)

    def run(folder: Path, timeout: float | None = None) -> Report:
        report = run_check(number, project=folder, timeout=timeout)
        if report.results:  # a setup error (no folder, no alembic.ini) grades nothing
            assert [(r.task, r.name) for r in report.results] == tasks, report.as_text()
        if folder in starters and tree_hash(folder) == starters[folder]:  # untouched
            first = report.failures()[0]
            shown, rest = split_open(first.message)
            assert sum(map(wrapped, shown)) <= NOTEBOOK_LINES, report.as_text()
            assert shown + rest == first.message.splitlines()
        return report

    return run


@pytest.fixture
def grade_mutant(grade: Grade, project: ProjectCopy) -> GradeMutant:
    """`grade_mutant(mutate)`: the check of a solution copy that `mutate` edited: a failure, and
    the copy untouched."""

    def run(mutate: Mutation) -> Report:
        folder = project("solutions")
        mutate(folder)
        report = grade_untouched(folder, grade)
        assert_learner_failure(report)
        return report

    return run
