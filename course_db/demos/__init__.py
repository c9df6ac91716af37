"""The notebooks' side: helpers that lesson notebooks call in their walkthrough cells.

Graders live in `course_db.graders`; nothing here grades. A notebook cell says what it uses
(`demo_database_url()`), not how the course finds it, and never prints a URL (it names a path or
a host of one machine). A lesson's own demo helpers are `demos.lessonNN`.
"""

from __future__ import annotations

from course_db import databases
from course_db.notebook import current_session
from course_db.server import Server


def demo_server() -> Server:
    """The PostgreSQL server this notebook's lesson uses."""
    return current_session().server


def demo_database_name() -> str:
    """The name of this lesson's demo database (on `demo_server()`)."""
    return databases.db_name(current_session().lesson.number, "demo")


def demo_database_url() -> str:
    """The URL of this lesson's demo database, the one `%alembic` and `%sql` use."""
    return current_session().demo_target()[1]


def demo_database_urls() -> dict[str, str]:
    """`MAIN_DATABASE_URL`, `ANALYTICS_DATABASE_URL`...: each demo database of a lesson with
    several (lesson 08), by the variable its `env.py` reads."""
    return current_session().extra_env("demo")
