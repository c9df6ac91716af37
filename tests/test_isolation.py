"""A check child grades the project it was given, whatever its parent imported before."""

from __future__ import annotations

import gc
import importlib
import os
import sys
import time
from pathlib import Path

import pytest
from helpers import ProjectCopy

from course_db.isolation import Job, Limits, run_isolated, scratch_dir
from course_db.runner import run_check


def test_check_imports_the_graded_app_not_one_its_parent_imported(
    warm: None, project_copy: ProjectCopy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent imports another project's `app` the way Alembic's `prepend_sys_path = .` does:
    # through `.`, from that project's folder. Python then caches a finder pinned to that folder.
    other = tmp_path / "other"
    (other / "app").mkdir(parents=True)
    (other / "app" / "__init__.py").write_text('"""Another project: it has no models."""\n')
    # This process may already hold a finder for `.` pinned to another folder (the very problem):
    # start without one, and leave the process's own cache as it was.
    cache = {entry: finder for entry, finder in sys.path_importer_cache.items() if entry != "."}
    monkeypatch.setattr(sys, "path_importer_cache", cache)
    monkeypatch.setattr(sys, "path", [".", *sys.path])
    monkeypatch.chdir(other)
    monkeypatch.setitem(sys.modules, "app", importlib.import_module("app"))
    monkeypatch.chdir(tmp_path)

    report = run_check("01", project=project_copy("solutions"))

    assert report.passed, report.as_text()


def make_scratch_and_hang(note: str) -> None:
    """A check stopped at its limit while its scratch folder exists: its `with` never ends."""
    with scratch_dir("hang") as folder:
        (Path(folder) / "copy-of-the-project").mkdir()
        Path(note).write_text(folder)
        time.sleep(60)


def make_scratch_and_exit(note: str) -> None:
    """A check ended by the learner's code (`os._exit`) while its scratch folder exists."""
    with scratch_dir("exit") as folder:
        (Path(folder) / "copy-of-the-project").mkdir()
        Path(note).write_text(folder)
        os._exit(3)


def test_check_stopped_at_its_limit_leaves_no_scratch_folder(tmp_path: Path) -> None:
    note = tmp_path / "folder.txt"
    job = Job(__name__, make_scratch_and_hang.__name__, {"note": str(note)})

    outcome = run_isolated(job, Limits(timeout=1.5))

    assert outcome.timed_out
    folder = Path(note.read_text())
    assert folder.name.startswith("alembic-course-hang-") and not folder.exists()


def test_check_that_dies_leaves_no_scratch_folder(tmp_path: Path) -> None:
    note = tmp_path / "folder.txt"
    job = Job(__name__, make_scratch_and_exit.__name__, {"note": str(note)})

    outcome = run_isolated(job, Limits(timeout=10))

    assert outcome.died == "exit status 3"
    folder = Path(note.read_text())
    assert folder.name.startswith("alembic-course-exit-") and not folder.exists()


def warn_deprecated_then_answer() -> str:
    """A learner's code that calls something deprecated, as Alembic or SQLAlchemy warn."""
    import warnings

    warnings.warn("this call is deprecated", UserWarning, stacklevel=1)
    warnings.warn("hidden by Python's defaults", DeprecationWarning, stacklevel=1)
    return "answered"


def test_check_child_warns_as_python_does_not_as_its_parent() -> None:
    """The parent here is pytest with warnings as errors and recorded (pyproject's
    filterwarnings): the child prints the warning, as a shell would, and answers."""
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("error")
        outcome = run_isolated(Job(__name__, warn_deprecated_then_answer.__name__, {}), Limits(10))

    assert outcome.value == "answered", outcome
    assert "UserWarning: this call is deprecated" in outcome.output
    assert "hidden by Python's defaults" not in outcome.output


def walked_by_a_collection() -> int:
    """How many objects a full garbage collection here walks (frozen ones are left out)."""
    return sum(len(gc.get_objects(generation)) for generation in range(3))


def count_collected_objects() -> dict[str, int]:
    """What a full collection in the check's grader walks, and what it leaves out."""
    return {"walked": walked_by_a_collection(), "frozen": gc.get_freeze_count()}


def test_check_child_leaves_its_parents_objects_out_of_garbage_collection() -> None:
    """A collection in the grader walks only what the grader made: the parent's heap (here a
    pytest worker's, every collected test in it) is frozen, not walked and copied page by page."""
    gc.unfreeze()  # as a parent that froze nothing (the test suite freezes its own, conftest.py)
    try:
        inherited = walked_by_a_collection()
        outcome = run_isolated(Job(__name__, count_collected_objects.__name__, {}), Limits(10))
    finally:
        gc.freeze()

    assert outcome.value["frozen"] >= 0.9 * inherited, outcome
    assert outcome.value["walked"] < inherited / 10, outcome
