"""Fixtures shared by the tests: the server, lesson 01, and copies of its exercise folders."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import looping, private_embedded  # noqa: F401  (fixtures of the fault corpus)
from helpers import Grade, ProjectCopy, copies

from course_db.isolation import preload
from course_db.lessons import Lesson, get_lesson
from course_db.report import Report
from course_db.runner import run_check
from course_db.server import Server, get_server


@pytest.fixture(scope="session")
def server() -> Server:
    return get_server()


@pytest.fixture(scope="session")
def lesson01() -> Lesson:
    return get_lesson("01")


@pytest.fixture
def project_copy(tmp_path: Path, lesson01: Lesson) -> ProjectCopy:
    """`project_copy("solutions")` or `project_copy("exercises")`: a fresh copy in tmp_path."""
    return copies(tmp_path, lesson01)


@pytest.fixture(scope="session")
def warm() -> None:
    """Import what checks need once, so each forked check child starts warm."""
    preload()


@pytest.fixture
def grade(warm: None) -> Grade:
    """`grade(project, timeout=None)`: lesson 01's check of `project`, as `course check` runs it."""

    def run(project: Path, timeout: float | None = None) -> Report:
        return run_check("01", project=project, timeout=timeout)

    return run


@pytest.fixture
def restore_course_logger() -> Iterator[None]:
    """main() adds a stderr handler on each call; keep them from piling up across tests."""
    logger = logging.getLogger("course_db")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
