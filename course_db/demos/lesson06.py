"""Lesson 06's notebook helper: run pytest on a project from a cell, the way the course does.

`!pytest` in a cell would run with the kernel's environment (no DATABASE_URL, or a stale one) and
print timings that change on every run. `run_tests()` runs pytest in a fresh interpreter
(`mutation.run_pytest`), never in the kernel, and prints its output without timings or paths:

- `run_tests()`: the scratch project's tests, each with a fresh database (the course's fixtures);
- `run_tests(exercise=True)`: the same for your exercise folder (what `check()` runs per history);
- `run_tests(seed_style=True)`: no course fixtures, as the seed runs its tests: `DATABASE_URL` is
  the demo database (the "app's" database) and `TEST_DATABASE_URL` a separate, empty one.
"""

from __future__ import annotations

import shlex

from course_db import databases
from course_db.graders.mutation.harness import run_pytest
from course_db.notebook import current_session

TIMEOUT = 120.0


def run_tests(*args: str, exercise: bool = False, seed_style: bool = False) -> None:
    """Print `$ pytest ARGS` and pytest's output (what a terminal would show, without timings)."""
    session = current_session()
    lesson, server = session.lesson, session.server
    project = lesson.exercise_dir if exercise else session.scratch
    template = databases.ensure_template(server, lesson.number, lesson.fixture_path)
    plain = None
    if seed_style:
        test_url = databases.reset(server, lesson.number, lesson.fixture_path, "test")
        plain = {"DATABASE_URL": session.demo_target()[1], "TEST_DATABASE_URL": test_url}
    shown = " ".join(shlex.quote(arg) for arg in args) or "tests"
    print(f"$ pytest {shown}", flush=True)
    run = run_pytest(
        project, server, template, args or ["tests"], TIMEOUT, lesson.number, plain_env=plain
    )
    print(run.summary)
