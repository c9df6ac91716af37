"""Progress: a check of the learner's own exercise is recorded; a copy or a solution is not."""

from __future__ import annotations

import pytest
from helpers import ProjectCopy

from course_db import progress
from course_db.checking import run_check
from course_db.server import Server


def test_checking_the_exercise_records_progress(
    warm: None, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURSE_SOURCE", "exercises")
    report = run_check("01")  # the untouched starter: it fails
    assert report.status == "failed", report.as_text()
    entry = progress.load(server)["01"]
    assert entry.status == "failed" and not entry.ever_passed
    assert entry.total_tasks == len(report.results)
    assert entry.passed_tasks == sum(result.passed for result in report.results)


def test_grading_a_copy_or_the_solution_records_nothing(
    warm: None, server: Server, project_copy: ProjectCopy
) -> None:
    before = progress.load(server).get("01")
    assert run_check("01", project=project_copy("solutions")).passed  # `course check --project`
    assert run_check("01").passed  # COURSE_SOURCE=solutions: `course verify`, CI
    assert progress.load(server).get("01") == before
