"""Everything a lesson notebook needs, in one import: `from course_db.notebook import *`.

`lesson("01")` resets the lesson's demo database, re-creates its scratch project under
`.course/scratch/01` (the kernel works there, so re-running the notebook gives the same output),
loads `%alembic`, and connects JupySQL's `%sql` to the demo database without printing its URL.
`check()` grades the exercise through the warm worker (never in the kernel itself).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from IPython.display import Markdown, display

from course_db import databases, forkserver
from course_db.errors import CheckFailed, SetupError
from course_db.hints import Answer, next_hint, seen_hints
from course_db.lessons import Lesson, get_lesson, source
from course_db.paths import state_dir
from course_db.server import Server, get_server
from course_db.worker import WorkerClient

__all__ = ["check", "hint", "lesson"]

_worker = WorkerClient()  # closes itself at exit


@dataclass
class LessonSession:
    lesson: Lesson
    server: Server
    scratch: Path
    command_timeout: float = 120.0

    def demo_target(self) -> tuple[Path, str]:
        return self.scratch, self.server.url(databases.db_name(self.lesson.number, "demo"))

    def exercise_target(self) -> tuple[Path, str]:
        return self.lesson.exercise_dir, self.server.url(
            databases.db_name(self.lesson.number, "exercise")
        )

    def extra_env(self, role: str) -> dict[str, str]:
        """`MAIN_DATABASE_URL`, `ANALYTICS_DATABASE_URL`... of `role` (demo, exercise), if any."""
        return databases.extra_env(self.server, self.lesson, role)


_session: LessonSession | None = None


def current_session() -> LessonSession:
    if _session is None:
        raise SetupError("No lesson is set up in this notebook.", tip='run `lesson("NN")` first.')
    return _session


def lesson(number: str) -> None:
    """Set the notebook up for lesson `number`: fresh databases, fresh scratch project.

    Both the demo and the exercise database start from the template, so running the notebook
    again gives the same output; checks never use either (they grade on a fresh copy).
    """
    global _session
    info = get_lesson(number)
    server = get_server()
    demo_url = databases.reset(server, info.number, info.fixture_path, "demo")
    databases.reset(server, info.number, info.fixture_path, "exercise")
    for role in ("demo", "exercise"):
        databases.reset_extras(server, info, role)
    scratch = state_dir("scratch") / info.number
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    os.chdir(scratch)
    _session = LessonSession(info, server, scratch)
    _worker.start()
    forkserver.warm_up()  # `%alembic` forks from it: its imports happen while you read
    _load_extensions(demo_url)
    print(f"Lesson {info.number}: {info.title}.")
    print("Demo and exercise databases reset; this notebook now works in a fresh scratch folder.")


def _load_extensions(demo_url: str) -> None:
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    from IPython.utils.capture import capture_output

    shell.extension_manager.load_extension("course_db.magics")
    with capture_output():  # JupySQL's start-up notes name paths on this machine
        shell.extension_manager.load_extension("sql")
    from sql.connection import ConnectionManager
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    ConnectionManager.close_all()
    shell.run_line_magic("config", "SqlMagic.displaycon = False")
    shell.run_line_magic("config", "SqlMagic.feedback = 0")
    shell.user_ns["_course_demo_engine"] = create_engine(demo_url, poolclass=NullPool)
    shell.run_line_magic("sql", "_course_demo_engine")


def check(number: str | None = None) -> None:
    """Grade the exercise and show the answer, then what the migrations did to the schema.

    Under `COURSE_SOURCE=solutions` (CI), raise on any failure.
    """
    number = number or current_session().lesson.number
    report = _worker.check(number)
    if source() == "solutions" and not report.passed:
        raise CheckFailed(report.as_text(verbose=True))
    display(report)
    if report.picture:  # a frontend that renders no Markdown shows the diagram's source
        display({"text/markdown": report.picture, "text/plain": report.picture}, raw=True)


def hint(seen: bool = False) -> Answer | Markdown:
    """The next hint of this lesson, for the first task your last `check()` failed.

    `hint(seen=True)` shows again the hints you have seen.
    """
    lesson = current_session().lesson
    return Markdown(seen_hints(lesson)) if seen else next_hint(lesson)
