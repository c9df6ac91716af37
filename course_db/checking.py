"""Grade one lesson's exercise: the single path behind `check()`, `course check` and the tests.

A check never trusts the learner's database and never writes to the learner's folder: it copies
the project to a temporary folder, clones a fresh database from the lesson's template, runs the
lesson's grader on both in an isolated child (`isolation.py`), then drops the database. A warm
worker clones the next check's database after answering (`Spares`), off the learner's clock.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from course_db import databases, progress
from course_db.errors import SetupError
from course_db.grading import Report, Result
from course_db.isolation import Job, Outcome, run_isolated
from course_db.lessons import Lesson, get_lesson, source
from course_db.paths import ROOT
from course_db.server import Server, get_server

_counter = itertools.count(1)
OUTPUT_TAIL_LINES = 15


def run_check(
    number: str,
    project: Path | str | None = None,
    timeout: float | None = None,
    spares: Spares | None = None,
) -> Report:
    """Grade `project` (default: the lesson's exercise folder).

    Only a check of the learner's own exercise counts as their progress: not a graded copy
    (`--project`, the tests), not the solutions (`course verify`, CI).

    With `spares` (a warm worker's), the check takes a database cloned ahead of time and leaves
    the dropping to `Spares.tidy`, after the answer; without, it clones and drops in line.
    """
    started = time.perf_counter()
    report = Report(lesson=str(number))
    try:
        lesson = get_lesson(number)
        report.lesson = lesson.number
        folder = resolve_project(lesson, project)
        server = get_server()
        taker = spares or Spares()
        name, url = taker.take(server, lesson)
        names, extra_env = [name], {}
        try:
            for extra in lesson.extras:  # lesson 08's analytics database, say
                extra_name, extra_url = taker.take_database(server, extra.key, extra.fixture_path)
                names.append(extra_name)
                extra_env[extra.env_var] = extra_url
            if extra_env:
                extra_env["MAIN_DATABASE_URL"] = url
            outcome = grade_copy(lesson, folder, url, timeout or lesson.check_timeout, extra_env)
        finally:
            if spares is None:
                for used in names:
                    databases.drop_database(server, used)
            else:
                spares.used.extend(names)
        report.results = results_of(outcome, timeout or lesson.check_timeout)
        if outcome.crash:
            report.error = "The checker itself failed: a course bug or a database problem."
            report.tip = "run the check again with --verbose and report what it prints."
            report.detail = outcome.crash
        if project is None and source() == "exercises":  # the learner's own work, nobody else's
            progress.record(server, report)
    except SetupError as exc:
        report.error, report.tip = exc.message, exc.tip
    report.duration = time.perf_counter() - started
    return report


def grade_copy(
    lesson: Lesson,
    folder: Path,
    url: str,
    timeout: float,
    extra_env: dict[str, str] | None = None,
) -> Outcome:
    """Run the lesson's grader on a throwaway copy of `folder` (the learner's stays untouched).

    A lesson with extra databases gets their URLs as the grader's `extra_env` argument
    (`MAIN_DATABASE_URL`, `ANALYTICS_DATABASE_URL`, ...); the others' graders never see it.
    """
    with tempfile.TemporaryDirectory(prefix=f"course-check-{lesson.number}-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(folder, copy, ignore=ignore_in_copy)
        kwargs: dict[str, object] = {"project": str(copy), "database_url": url}
        if extra_env:
            kwargs["extra_env"] = extra_env
        job = Job(f"course_db.checks.lesson{lesson.number}", "grade", kwargs)
        return run_isolated(job, timeout)


KEPT_DOT_FOLDERS = (".github",)  # lesson 07 grades .github/workflows/migrations.yml
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def ignore_in_copy(folder: str, names: list[str]) -> set[str]:
    """Leave bytecode and dot-files (.venv, .git) out of a check's copy, except KEPT_DOT_FOLDERS."""
    return {name for name in _IGNORED(folder, names) if name not in KEPT_DOT_FOLDERS}


@dataclass
class Spares:
    """Fresh check databases, cloned before they are needed.

    Cloning a template costs 20-300 ms depending on the machine's disk. After answering, a warm
    worker (or a detached helper of `course check`) drops the used database and clones the next
    check's one, a spare kept in the server (`databases.prepare_spare`): the learner's next check
    takes it by renaming it, in milliseconds.
    """

    used: list[str] = field(default_factory=list)

    def take(self, server: Server, lesson: Lesson) -> tuple[str, str]:
        """(name, url) of a fresh database for one check of `lesson`."""
        return self.take_database(server, lesson.number, lesson.fixture_path)

    def take_database(self, server: Server, key: str, fixture: Path) -> tuple[str, str]:
        """(name, url) of a fresh copy of the template of `key` (a lesson number, or an extra
        database's key such as `08_analytics`)."""
        template = databases.ensure_template(server, key, fixture)
        name = databases.db_name(key, f"check_{os.getpid()}_{next(_counter)}")
        url = databases.take_spare(server, key, fixture, name)
        return name, url or databases.clone(server, template, name)

    def tidy(self, lesson_number: str) -> None:
        """After an answer: drop the used databases and prepare a spare for the next check."""
        # The next check reports any problem, with a TIP; a clean-up must never end the worker.
        with contextlib.suppress(SetupError, psycopg.Error):
            server = get_server()
            while self.used:
                databases.drop_database(server, self.used.pop())
            lesson = get_lesson(lesson_number)
            databases.prepare_spare(server, lesson.number, lesson.fixture_path)
            for extra in lesson.extras:
                databases.prepare_spare(server, extra.key, extra.fixture_path)

    def tidy_in_background(self, lesson_number: str) -> None:
        """`tidy` in a detached process, so a one-shot `course check` exits at once."""
        subprocess.Popen(
            [sys.executable, "-m", "course_db.checking", lesson_number, *self.used],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.used.clear()


def resolve_project(lesson: Lesson, project: Path | str | None) -> Path:
    folder = Path(project).expanduser().resolve() if project else lesson.exercise_dir
    shown = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    if not folder.is_dir():
        raise SetupError(
            f"There is no folder {shown}.",
            tip=f"`uv run course reset {lesson.number} --files` restores the exercise, "
            "or pass --project with the folder that holds alembic.ini.",
        )
    if not (folder / "alembic.ini").is_file():
        raise SetupError(
            f"{shown} has no alembic.ini, so it is not an Alembic project.",
            tip=f"`uv run course reset {lesson.number} --files` restores the starter files "
            "(keeping a backup of yours).",
        )
    return folder


def results_of(outcome: Outcome, timeout: float) -> list[Result]:
    """Turn what the child returned into results; a timeout is the learner's to fix."""
    if outcome.timed_out:
        return [
            Result(
                1,
                "Your migrations finish in time",
                False,
                f"The check was stopped after {timeout:.0f} s (the course's limit). Look for an "
                "endless loop, or a statement waiting for a lock, in the revision that was running."
                + last_output(outcome.output),
            )
        ]
    if outcome.died:
        return [
            Result(
                1,
                "Your migrations run to the end",
                False,
                f"The process running your migrations ended abruptly ({outcome.died}): "
                "look for os._exit(), or code that crashes the interpreter."
                + last_output(outcome.output),
            )
        ]
    if not outcome.value:
        return []
    return [Result(**item) for item in outcome.value]


def last_output(output: str) -> str:
    """The last lines the learner's migrations printed, to show where they stopped."""
    tail = "\n".join(output.strip().splitlines()[-OUTPUT_TAIL_LINES:])
    return f"\nLast output:\n{tail}" if tail else ""


if __name__ == "__main__":  # `Spares.tidy_in_background`: python -m course_db.checking NN DB...
    Spares(used=sys.argv[2:]).tidy(sys.argv[1])
