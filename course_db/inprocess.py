"""Run Alembic commands in-process on a learner's project, inside the grader's child process.

Only ever called in a throwaway child (see `isolation.py`): the learner's `env.py`, revisions and
models are imported fresh there. Each step captures what Alembic printed and turns an exception into
a short message that points at the learner's own file and line.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import traceback
from argparse import Namespace
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, cast

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from course_db import schema_diagram
from course_db.learner_text import SQLALCHEMY_BACKGROUND
from course_db.output import HeadAndTail

MAX_ERROR_LINES = 6
MAX_LINE = 200  # SQLAlchemy quotes whole statements and their parameters


@dataclass(frozen=True)
class Step:
    command: str
    ok: bool
    output: str
    error: str = ""
    # what the learner's code raised, whole: `error` is trimmed to a few lines for the learner
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    def explain(self) -> str:
        """`alembic upgrade head` failed: <error>, for a learner-facing message."""
        return f"`{self.command}` failed:\n{self.error}"


def alembic(project: Path, verb: str, *args: str, x: Sequence[str] = (), **kwargs: object) -> Step:
    """Run `alembic VERB ARGS` on `project` (the child's working directory) and capture it all.

    `x=["db=main"]` passes `-x db=main`, as the command line does, for `env.py`'s
    `context.get_x_argument()`.
    """
    options = [part for value in x for part in ("-x", value)]
    flags = [f"--{key}" for key, on in kwargs.items() if on]
    shown = " ".join(["alembic", *options, verb, *args, *flags])
    buffer = Tee()
    cmd_opts = Namespace(x=list(x)) if x else None
    config = Config(str(project / "alembic.ini"), stdout=cast(TextIO, buffer), cmd_opts=cmd_opts)
    if not x:  # lesson 08's `-x db=...` migrates other databases than DATABASE_URL's: no picture
        schema_diagram.note_before()
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            getattr(command, verb)(config, *args, **kwargs)
    except BaseException as exc:  # learner code can raise anything, SystemExit included
        return Step(shown, False, buffer.getvalue(), describe_exception(exc, project), exc)
    if verb == "upgrade" and not x and not kwargs.get("sql") and reaches_head(config, args[0]):
        schema_diagram.note_after()
    return Step(shown, True, buffer.getvalue())


def reaches_head(config: Config, target: str) -> bool:
    """Whether `upgrade target` ends at the project's head (lessons 05 and 10 go one by one)."""
    if target in ("head", "heads"):
        return True
    try:
        return target in ScriptDirectory.from_config(config).get_heads()
    except Exception:  # the learner's revisions cannot even be listed: no picture, same verdict
        return False


class Tee(io.TextIOBase):
    """Keeps the head and tail of what a step printed, and passes it on to the real stdout.

    If the step never ends and the child is killed, the grader still has the last lines
    (`Running upgrade ... -> 0001_...`) to show the learner where it hung. A step that prints
    gigabytes costs the grader no more than the head and tail it keeps.
    """

    def __init__(self) -> None:
        super().__init__()
        self._kept = HeadAndTail()

    def write(self, text: str) -> int:
        out = sys.__stdout__  # None in a process started without one
        with contextlib.suppress(OSError, ValueError):
            if out is not None:
                out.write(text)
                out.flush()
        self._kept.add(text)
        return len(text)

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        return self._kept.text()


def describe_exception(exc: BaseException, project: Path) -> str:
    """The exception in a few lines, located in the learner's file, without the library frames."""
    where = learner_location(exc, project)
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    # A SyntaxError names the file by the check's temporary copy: show it relative, as `where` is.
    text = text.replace(str(project.resolve()) + os.sep, "").replace(str(project) + os.sep, "")
    lines = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith((SQLALCHEMY_BACKGROUND, "[parameters:"))
    ]
    lines = [line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..." for line in lines]
    if len(lines) > MAX_ERROR_LINES:
        lines = [*lines[: MAX_ERROR_LINES - 1], "..."]
    message = "\n".join(lines)
    if isinstance(exc, AttributeError) and "has no attribute 'downgrade'" in str(exc):
        message += "\nYour revision has no downgrade() function: add one that undoes upgrade()."
    return f"{message}\n  (at {where})" if where else message


def learner_location(exc: BaseException, project: Path) -> str:
    """`path/in/project.py, line N, in func` of the deepest frame in the learner's project."""
    root = str(project.resolve())
    if isinstance(exc, SyntaxError):
        return ""  # its own message already names the file and line
    found = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root):
            found = (
                f"{Path(frame.filename).relative_to(root)}, line {frame.lineno}, in {frame.name}"
            )
    return found
