"""Short tracebacks: the learner's frames and the error stay, library frames are hidden."""

from __future__ import annotations

import pytest

from course_db.tracebacks import shorten_traceback

pytestmark = pytest.mark.server_agnostic


def test_short_traceback_keeps_the_learners_frames_and_the_error() -> None:
    """`%alembic --short-tb` (used by this lesson's notebook) hides library frames only."""
    output = """INFO  [alembic.runtime.migration] Running upgrade 0001 -> 0002, x
Traceback (most recent call last):
  File ".venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 1, in x
    self.dialect.do_execute(
psycopg.errors.NotNullViolation: boom

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File ".venv/lib/python3.11/site-packages/alembic/config.py", line 1, in main
    CommandLine(prog=prog).main(argv=argv)
  File "migrations/env.py", line 80, in <module>
    run_migrations_online()
  File "/usr/lib/python3.11/importlib/__init__.py", line 1, in x
  File "migrations/versions/0002_x.py", line 32, in upgrade
    op.alter_column('users', 'full_name', nullable=False)
    ^^^^^^^^^^^^^^^
  File ".venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 2, in y
    raise x
sqlalchemy.exc.IntegrityError: (psycopg.errors.NotNullViolation) boom
[SQL: ALTER TABLE users ALTER COLUMN full_name SET NOT NULL]
(Background on this error at: https://sqlalche.me/e/21/gkpj)
"""
    hidden = "  ... (frames in Alembic, SQLAlchemy and Python: hidden by the course)"
    assert shorten_traceback(output) == "\n".join(
        [
            "INFO  [alembic.runtime.migration] Running upgrade 0001 -> 0002, x",
            "Traceback (most recent call last):",
            hidden,
            '  File "migrations/env.py", line 80, in <module>',
            "    run_migrations_online()",
            hidden,
            '  File "migrations/versions/0002_x.py", line 32, in upgrade',
            "    op.alter_column('users', 'full_name', nullable=False)",
            "    ^^^^^^^^^^^^^^^",
            hidden,
            "sqlalchemy.exc.IntegrityError: (psycopg.errors.NotNullViolation) boom",
            "[SQL: ALTER TABLE users ALTER COLUMN full_name SET NOT NULL]",
            "",
        ]
    )
    assert shorten_traceback("no traceback here\n") == "no traceback here\n"
