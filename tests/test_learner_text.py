"""learner_text: temporary paths shown as the learner's own; SQLAlchemy's link left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_db.learner_text import SQLALCHEMY_BACKGROUND, relative_paths
from course_db.tracebacks import shorten_traceback

pytestmark = pytest.mark.server_agnostic  # see CONTRIBUTING.md, Run the tests


def test_relative_paths_names_files_inside_the_folder_and_the_folder_itself() -> None:
    copy = Path("/tmp/course-check-x1/project")
    text = f'File "{copy}/migrations/env.py", line 3\ncwd: {copy}\nelsewhere: /tmp/other/env.py'
    assert relative_paths(text, copy) == (
        'File "migrations/env.py", line 3\ncwd: .\nelsewhere: /tmp/other/env.py'
    )


def test_relative_paths_handles_each_folder_given() -> None:
    assert relative_paths("/a/x.py /b/y.py /c/z.py", "/a", Path("/b")) == "x.py y.py /c/z.py"


def test_shorten_traceback_drops_sqlalchemy_background_line() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/venv/sqlalchemy/engine.py", line 1, in run\n'
        "    x()\n"
        'psycopg.errors.UndefinedTable: relation "users" does not exist\n'
        f"{SQLALCHEMY_BACKGROUND}: https://sqlalche.me/e/20/f405)\n"
    )
    shortened = shorten_traceback(text)
    assert "UndefinedTable" in shortened
    assert SQLALCHEMY_BACKGROUND not in shortened
