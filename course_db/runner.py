"""Grade one lesson's exercise: the single path behind `check()`, `course check` and the tests.

A check never trusts the learner's database and never writes to the learner's folder: it clones a
fresh database from the lesson's template, then, in isolated processes (`isolation.py`), copies
the project to a scratch folder (`copying.py`) and runs the lesson's grader on both. However the
check ends, its guardian drops the database and the folder. A warm worker clones the next check's
database after answering (`Spares`), off the learner's clock.

The grader contract: `course_db.graders.lessonNN` declares `TASKS` and
`grade(project: Path, databases: Databases) -> list[Result]`. This runner does the rest, the same
for every lesson: the project's copy is the working directory, `databases.env()` is in the
environment (`DATABASE_URL`, and lesson 08's `MAIN_DATABASE_URL` and `ANALYTICS_DATABASE_URL`),
every task is listed in `TASKS` order (`graders.tasklist`), and the results go back to the parent.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy.exc

from course_db import databases, progress, schema_diagram
from course_db.copying import copy_project
from course_db.errors import SetupError, first_line, full_server_tip
from course_db.graders.tasklist import Graded, Tasks, complete, every_task
from course_db.isolation import (
    Job,
    Limits,
    Outcome,
    prune_scratch_dirs,
    run_isolated,
    scratch_dir,
    settle,
)
from course_db.lesson_databases import Databases
from course_db.lessons import Lesson, get_lesson, source
from course_db.paths import ROOT
from course_db.report import Report, Result
from course_db.server import Server, get_server

_tidying: list[subprocess.Popen[bytes]] = []  # `Spares.tidy_in_background`'s running processes
OUTPUT_TAIL_LINES = 15
MAX_TIMEOUT = 600.0  # seconds: what `--timeout` may ask; `databases.STALE_CHECK` is longer


def run_check(
    number: str,
    project: Path | str | None = None,
    timeout: float | None = None,
    spares: Spares | None = None,
) -> Report:
    """Grade `project` (default: the lesson's exercise folder).

    Only a check of the learner's own exercise counts as their progress: not a graded copy
    (`--project`, the tests), not the solutions (`course verify`, CI).

    With `spares` (a warm worker's), the check takes a database cloned ahead of time; the check's
    guardian drops it after answering, and `Spares.tidy` prepares the next one. Without, the
    check also waits for that clean-up before returning.
    """
    started = time.perf_counter()
    report = Report(lesson=str(number))
    try:
        lesson = get_lesson(number)
        report.lesson = lesson.number
        limit = check_timeout(timeout, lesson)
        folder = resolve_project(lesson, project)
        server = get_server()
        databases.prune(server)  # what earlier checks that were killed left behind
        prune_scratch_dirs()
        outcome = grade_copy(lesson, folder, server, limit, spares or Spares())
        report.results = results_of(outcome, replace(lesson, check_timeout=limit))
        report.picture = schema_diagram.markdown(
            outcome.attachments.get("schema_before"), outcome.attachments.get("schema_after")
        )
        if outcome.setup_error:
            report.error, report.tip = outcome.setup_error
        elif outcome.crash:
            report.error = "The checker itself failed: a course bug or a database problem."
            report.tip = "run the check again with --verbose and report what it prints."
            report.detail = outcome.crash
        if project is None and source() == "exercises":  # the learner's own work, nobody else's
            progress.record(server, report)
    except SetupError as exc:
        report.error, report.tip = exc.message, exc.tip
    except psycopg.Error as exc:  # the server went away mid-check (`course db stop`, a restart)
        report.error = f"The database server stopped answering during the check: {first_line(exc)}"
        report.tip = "run the check again (the course restarts its own server by itself)."
    finally:
        if spares is None:
            settle()
    report.duration = time.perf_counter() - started
    return report


def check_timeout(timeout: float | None, lesson: Lesson) -> float:
    """The check's limit in seconds: `timeout` when given, else the lesson's."""
    if timeout is None:
        return lesson.check_timeout
    if not (0 < timeout <= MAX_TIMEOUT):  # False for nan too
        raise SetupError(
            f"A time limit of {timeout} s is not possible.",
            tip=f"give --timeout a number of seconds above 0 and at most {MAX_TIMEOUT:.0f}, or "
            f"leave it out to use the lesson's ({lesson.check_timeout:.0f} s).",
        )
    return timeout


def grade_copy(
    lesson: Lesson, folder: Path, server: Server, timeout: float, spares: Spares
) -> Outcome:
    """Run the lesson's grader on a throwaway copy of `folder` (the learner's stays untouched).

    The databases are taken here (the lesson's, and its extra ones: lesson 08's analytics
    database, say); the check's guardian drops them however the check ends.
    """
    name, url = spares.take(server, lesson)
    names, extra_urls = [name], {}
    for extra in lesson.extras:
        extra_name, extra_url = spares.take_database(server, extra.key, extra.fixture_path)
        names.append(extra_name)
        extra_urls[extra.env_var] = extra_url
    spares.used.extend(names)  # dropped again by `tidy` if the guardian could not
    kwargs: dict[str, object] = {
        "lesson": lesson.number,
        "folder": str(folder),
        "databases": asdict(Databases(url, extra_urls)),
        "copy_limit": lesson.copy_limit_mb * 2**20,
    }
    limits = Limits(timeout=timeout, memory=lesson.memory_limit_mb * 2**20)

    def drop_databases() -> None:
        with contextlib.suppress(SetupError, psycopg.Error):
            for used in names:
                databases.drop_database(server, used)

    return run_isolated(Job(__name__, "grade_in_copy", kwargs), limits, drop_databases)


def grade_in_copy(lesson: str, folder: str, databases: dict[str, Any], copy_limit: int) -> Graded:
    """In the check's grader: copy the project (guarded, inside the time limit), then grade it.

    The grader runs in the copy, with its databases in the environment; what it returns becomes
    one row per task of `TASKS`, in order.
    """
    with scratch_dir("check") as tmp:
        copy = Path(tmp) / "project"
        copy_project(Path(folder), copy, copy_limit)
        urls = Databases(**databases)
        grader = importlib.import_module(f"course_db.graders.lesson{lesson}")
        os.chdir(copy)
        os.environ.update(urls.env())
        try:
            results: list[Result] = grader.grade(copy, urls)
            return complete(grader.TASKS, results)
        except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
            # The learner's own steps report their errors as results; this is the grader's own
            # connection, lost: the server stopped or restarted mid-check.
            full = full_server_tip(exc)
            if full:
                raise SetupError(
                    f"The database server had no free connection for the check: {first_line(exc)}",
                    tip=full,
                ) from None
            raise SetupError(
                f"The database server stopped answering during the check: {first_line(exc)}",
                tip="run the check again (the course restarts its own server by itself).",
            ) from None


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
        name = databases.unused_name(server, key, f"check_{os.getpid()}")
        comment = databases.check_marker()
        url = databases.take_spare(server, key, fixture, name, comment)
        return name, url or databases.clone(server, template, name, comment)

    def tidy(self, lesson_number: str) -> None:
        """After an answer: make sure the used databases are gone, prepare the next spare."""
        settle()  # the check's guardian drops them; wait for it
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
        # Kept until it ends: a child dropped while it runs is never reaped and makes Python warn.
        _tidying[:] = [process for process in _tidying if process.poll() is None]
        process = subprocess.Popen(
            [sys.executable, "-m", "course_db.runner", lesson_number, *self.used],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _tidying.append(process)
        self.used.clear()


def resolve_project(lesson: Lesson, project: Path | str | None) -> Path:
    """The folder to grade; the advice differs for `--project` (someone else's folder)."""
    folder = Path(project).expanduser().resolve() if project else lesson.exercise_dir
    shown = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
    restore = (
        f"`uv run course reset {lesson.number} --files` restores the starter files "
        "(keeping a backup of yours)."
    )
    given = "give --project the folder that holds the project's alembic.ini."
    if folder.is_file():
        raise SetupError(f"{shown} is a file, not a project folder.", tip=given)
    if not folder.is_dir():
        raise SetupError(f"There is no folder {shown}.", tip=given if project else restore)
    if not (folder / "alembic.ini").is_file():
        raise SetupError(
            f"{shown} has no alembic.ini, so it is not an Alembic project.",
            tip=given if project else restore,
        )
    return folder


def results_of(outcome: Outcome, lesson: Lesson) -> list[Result]:
    """Turn what the child returned into results; a timeout is the learner's to fix.

    A check stopped early still lists every task of the lesson: the first carries what happened,
    the others say they were not checked (`graders.tasklist`).
    """
    stopped = stopped_message(outcome, lesson)
    if stopped:
        tasks = lesson_tasks(lesson)
        first = Result(tasks[0][0], tasks[0][1], False, stopped + last_output(outcome.output))
        why = f"Not checked: the check was stopped (task {first.task} says why)."
        return every_task(tasks, [first], why)
    if not outcome.value:
        return []
    return [Result(**item) for item in outcome.value]


def stopped_message(outcome: Outcome, lesson: Lesson) -> str:
    """Why the check stopped before the grader answered, for the learner; '' if it did not."""
    if outcome.memory_exceeded:
        return (
            f"Your code used more than {memory_text(lesson.memory_limit_mb * 2**20)} of memory "
            "(the course's limit for one check) and was stopped. Look for a huge list, string "
            "or bytes object, or for reading a whole table into Python at once."
        )
    if outcome.timed_out:
        return (
            f"The check was stopped after {lesson.check_timeout:g} s (the course's "
            "limit). Look for an endless loop, or a statement waiting for a lock, in the "
            "revision that was running."
        )
    if outcome.died:
        return (
            f"The process running your migrations ended abruptly ({outcome.died}): "
            "look for os._exit(), or code that crashes the interpreter."
        )
    return ""


def lesson_tasks(lesson: Lesson) -> Tasks:
    """The lesson's task list, as its grader declares it (imported only when a check stopped)."""
    tasks: Tasks = importlib.import_module(f"course_db.graders.lesson{lesson.number}").TASKS
    return tasks


def memory_text(size: int) -> str:
    """`2 GiB`, `512 MiB`: a memory limit as the learner reads it."""
    return f"{size / 2**30:g} GiB" if size >= 2**30 else f"{size / 2**20:g} MiB"


def last_output(output: str) -> str:
    """The last lines the learner's migrations printed, to show where they stopped."""
    tail = "\n".join(output.strip().splitlines()[-OUTPUT_TAIL_LINES:])
    return f"\nLast output:\n{tail}" if tail else ""


if __name__ == "__main__":  # `Spares.tidy_in_background`: python -m course_db.runner NN DB...
    Spares(used=sys.argv[2:]).tidy(sys.argv[1])
