"""IPython extension: `%alembic` runs the real Alembic CLI from a notebook cell.

`%alembic ARGS` works in the lesson's scratch project (under `.course/`) against the demo database;
`%alembic --exercise ARGS` works in the learner's `exercises/NN_*` against the exercise database.
Each prints `$ alembic ARGS` first, then what Alembic printed, with machine paths made relative so
the notebook reads the same on every machine.
"""

from __future__ import annotations

import shlex

from IPython.core.magic import Magics, line_magic, magics_class

from course_db.alembic_runner import run_alembic
from course_db.paths import ROOT


@magics_class
class AlembicMagics(Magics):
    @line_magic
    def alembic(self, line: str) -> None:
        """Run the real `alembic` CLI: `%alembic upgrade head`, `%alembic --exercise current`."""
        from course_db.notebook import current_session

        args = shlex.split(line)
        exercise = "--exercise" in args
        args = [arg for arg in args if arg != "--exercise"]
        session = current_session()
        project, url = session.exercise_target() if exercise else session.demo_target()
        print("$ alembic " + " ".join(shlex.quote(arg) for arg in args), flush=True)
        result = run_alembic(project, args, url, timeout=session.command_timeout)
        output = sanitize(result.output, project)
        if output:
            print(output, end="" if output.endswith("\n") else "\n")
        if result.timed_out:
            print(f"(stopped after {session.command_timeout:.0f} s: the course's time limit)")
        elif result.returncode:
            print(f"(exit code {result.returncode})")


def sanitize(text: str, project) -> str:
    """Make machine paths relative: `/home/ana/course/.course/scratch/01/x` -> `x`."""
    for base, shown in ((str(project) + "/", ""), (str(project), "."), (str(ROOT) + "/", "")):
        text = text.replace(base, shown)
    return text


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(AlembicMagics)
