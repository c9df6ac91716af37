"""A lesson's own databases: the URLs one check hands its grader (`Databases`), and the exercise
databases the learner's commands use, with the extra ones of a lesson with several (lesson 08's
analytics), each named as `course db` names it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from course_db import databases
from course_db.errors import SetupError

if TYPE_CHECKING:
    from course_db.lessons import Lesson
    from course_db.server import Server


@dataclass(frozen=True)
class Databases:
    """The URLs of one check's fresh databases: the lesson's own (`url`) and, for a lesson with
    several (08), each extra one by the variable the learner's `env.py` reads it from."""

    url: str
    extra: dict[str, str] = field(default_factory=dict)  # ANALYTICS_DATABASE_URL -> its URL

    def env(self) -> dict[str, str]:
        """The variables the learner's code finds: `DATABASE_URL`, and with extra databases
        `MAIN_DATABASE_URL` (the same database) and each extra one's, by the rule a learner's
        own commands follow (`databases.extra_variables`)."""
        return {"DATABASE_URL": self.url, **databases.extra_variables(self.url, self.extra)}


def exercise_database(lesson: Lesson) -> str:
    """The exercise database's URL, creating it (and any extra ones) from its template if needed."""
    from course_db.server import get_server

    server = get_server()
    name = databases.db_name(lesson.number, "exercise")
    with databases.admin(server) as conn:
        exists = databases.comment_of(conn, name) is not None
    if not exists:
        template = databases.ensure_template(server, lesson.number, lesson.fixture_path)
        databases.clone(server, template, name)
    databases.ensure_extras(server, lesson, "exercise")
    return server.url(name)


def lesson_database_url(server: Server, lesson: Lesson, name: str) -> str:
    """The URL of one of a lesson's exercise databases by name: `main`, or an extra one."""
    urls = {"main": server.url(databases.db_name(lesson.number, "exercise"))}
    urls.update(
        {
            extra.name: server.url(databases.db_name(extra.key, "exercise"))
            for extra in lesson.extras
        }
    )
    if name not in urls:
        raise SetupError(
            f"Lesson {lesson.number} has no database named {name!r}.",
            tip="its databases are " + ", ".join(urls) + ".",
        )
    url: str = urls[name]
    return url
