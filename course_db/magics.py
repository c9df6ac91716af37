"""IPython extension: `%alembic` runs the real Alembic CLI from a notebook cell.

`%alembic ARGS` works in the lesson's scratch project (under `.course/`) against the demo database;
`%alembic --exercise ARGS` works in the learner's `exercises/NN_*` against the exercise database.
Each prints `$ alembic ARGS` first, then what Alembic printed, with machine paths made relative so
the notebook reads the same on every machine. `%alembic --short-tb ARGS` also shortens a Python
traceback to the frames in the project and the final error (for lessons that show a failure live).
A trailing `> FILE` writes what Alembic printed on stdout into FILE in the project, as a shell
would: `%alembic upgrade head --sql > migration.sql`.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_magic, magics_class

from course_db.alembic_runner import run_alembic
from course_db.learner_text import relative_paths
from course_db.paths import ROOT
from course_db.tracebacks import shorten_traceback


@magics_class
class AlembicMagics(Magics):
    @line_magic
    def alembic(self, line: str) -> None:
        """Run the real `alembic` CLI: `%alembic upgrade head`, `%alembic --exercise current`.

        `%alembic graph` draws the revision graph instead (`--exercise`: the exercise's)."""
        from course_db.notebook import current_session

        args = shlex.split(line)
        exercise = "--exercise" in args
        short = "--short-tb" in args
        args = [arg for arg in args if arg not in ("--exercise", "--short-tb")]
        if args == ["graph"]:  # not an Alembic command: the course draws the history
            from course_db.revision_graph import show_graph

            show_graph(exercise)
            return
        args, target = redirect(args)
        session = current_session()
        project, url = session.exercise_target() if exercise else session.demo_target()
        shown = " ".join(shlex.quote(arg) for arg in args) + (f" > {target}" if target else "")
        print("$ alembic " + shown, flush=True)
        result = run_alembic(
            project,
            args,
            url,
            timeout=session.command_timeout,
            extra_env=session.extra_env("exercise" if exercise else "demo"),
            separate_stderr=bool(target),
            warm=True,  # a learner waits on every cell: no 0.4 s of imports each time
        )
        if target:  # stdout into the file, Alembic's log lines (stderr) on screen, as in a shell
            (project / target).write_text(result.output, encoding="utf-8")
        output = sanitize(result.errors if target else result.output, project)
        if short:
            output = shorten_traceback(output)
        if output:
            print(output, end="" if output.endswith("\n") else "\n")
        if result.timed_out:
            print(f"(stopped after {session.command_timeout:.0f} s: the course's time limit)")
        elif result.returncode:
            print(f"(exit code {result.returncode})")


def redirect(args: list[str]) -> tuple[list[str], str | None]:
    """`upgrade head --sql > migration.sql` -> (the arguments for Alembic, "migration.sql")."""
    if len(args) >= 2 and args[-2] == ">":
        return args[:-2], args[-1]
    if args and args[-1].startswith(">") and len(args[-1]) > 1:
        return args[:-1], args[-1][1:]
    return args, None


def sanitize(text: str, project: Path | str) -> str:
    """Make machine paths relative: `/home/ana/course/.course/scratch/01/x` -> `x`."""
    return relative_paths(text, project).replace(str(ROOT) + "/", "")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    ipython.register_magics(AlembicMagics)
