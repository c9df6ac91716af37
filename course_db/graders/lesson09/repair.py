"""Run the learner's `repair.sh` the way an operator would: `bash repair.sh` in the project.

The script runs in the check's child process group (no session of its own), so the course's
timeout, which kills that group, also ends a script that loops or waits for input, together with
any `alembic` it started. Its standard input is empty, `alembic` is the course's own on `PATH`,
and `DATABASE_URL` is the check's fresh database (`child_env`), as for every process the course
starts.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from course_db.alembic_runner import child_env
from course_db.learner_text import SQLALCHEMY_BACKGROUND, relative_paths

SCRIPT = "repair.sh"
SHOWN_LINES = 8
QUIET = (
    "Context impl ",
    "Will assume transactional DDL",
    "setting up autogenerate plugin",
    SQLALCHEMY_BACKGROUND,
    "The above exception was the direct cause",
    "During handling of the above exception",
)


@dataclass(frozen=True)
class Repair:
    found: bool
    returncode: int = 0
    output: str = ""
    script: str = ""  # what repair.sh says, to explain a failure

    @property
    def ok(self) -> bool:
        return self.found and self.returncode == 0

    @property
    def started(self) -> bool:
        """Does the script run any command? The starter's has only `set -euo pipefail` and its
        `# TODO:`."""
        code = [line.split("#", 1)[0].strip() for line in self.script.splitlines()]
        return any(line and not line.startswith("set ") for line in code)

    def tail(self) -> str:
        """The last lines the script printed, without Alembic's routine start-up lines."""
        lines, in_sql, in_traceback = [], False, False
        for line in self.output.splitlines():
            in_sql = in_sql or line.startswith("[SQL:")  # SQLAlchemy quotes the whole statement
            in_traceback = line.startswith(("Traceback (most", "  ")) and (
                in_traceback or line.startswith("Traceback (most")
            )  # the frames name the course's files: the exception line after them is enough
            if in_sql:
                in_sql = line.strip() != "]"
            elif in_traceback:
                continue
            elif line.strip() and not any(quiet in line for quiet in QUIET):
                lines.append(line)
        if len(lines) > SHOWN_LINES:
            lines = ["...", *lines[-SHOWN_LINES:]]
        return "\n".join("  " + line for line in lines) or "  (it printed nothing)"


def run_repair(root: Path, database_url: str) -> Repair:
    """`bash repair.sh` in `root`, its output passed on as it comes (a timeout shows the last)."""
    if not (root / SCRIPT).is_file():
        return Repair(found=False)
    tools = str(Path(sys.executable).parent)  # the course's alembic, next to its python
    env = child_env(database_url, {"PATH": tools + os.pathsep + os.environ.get("PATH", "")})
    _show(f"$ bash {SCRIPT}  (stopped by the course's time limit if it never ends)\n")
    proc = subprocess.Popen(
        ["bash", SCRIPT],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        shown = relative_paths(line, root)
        _show(shown)
        lines.append(shown)
    script = (root / SCRIPT).read_bytes().decode(errors="replace")  # CRLF kept as it is
    return Repair(found=True, returncode=proc.wait(), output="".join(lines), script=script)


def _show(text: str) -> None:
    """To the child's real stdout (fd 1), which the course keeps for its timeout message."""
    out = sys.__stdout__  # None in a process started without one
    with contextlib.suppress(OSError, ValueError):
        if out is not None:
            out.write(text)
            out.flush()
