"""Lesson 07's notebook runs shell scripts the way a container would, with the grader's tools.

`DemoGate` is the grader's `Gate` (`proxy.py`) kept open across notebook cells: a port on
127.0.0.1 in front of the course's server, closed until `open()` (or `open_after(seconds)`).
`run_script` runs `bash SCRIPT ARGS` in the scratch project with `DB_HOST`/`DB_PORT` of the gate,
`DATABASE_URL` through it, `pg_isready` and `alembic` on `PATH`, and the course's time limit. The
output shows the gate's address as `db:PORT` (the port is a different free one on every run, and
a committed notebook names no host of one machine), and a line repeated once a second is shown once.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections import Counter
from pathlib import Path

from course_db.graders.lesson07.proxy import Gate
from course_db.graders.lesson07.script import pg_bin, script_env
from course_db.magics import sanitize
from course_db.processes import kill_group
from course_db.server import Server
from course_db.tracebacks import shorten_traceback

__all__ = ["DemoGate", "pg_bin", "run_script"]  # what notebook 07 uses

SHOWN_ADDRESS = "db:PORT"


class DemoGate(Gate):
    """A closed gate with its own event loop thread, for a notebook (no `with` across cells)."""

    def __init__(self, server: Server) -> None:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()
        super().__init__(server, loop)

    def open_after(self, seconds: float) -> None:
        """Open the gate `seconds` from now, in the background (a database that boots slowly)."""
        timer = threading.Timer(seconds, self.open)
        timer.daemon = True
        timer.start()


def run_script(
    gate: Gate,
    server: Server,
    dbname: str,
    script: str,
    *args: str,
    timeout: float = 10.0,
    env: dict[str, str | None] | None = None,
) -> None:
    """Run `bash script args` as a container would, and print what it printed and its status.

    `env` overrides the container's variables (None removes one); the course stops the script
    at `timeout`.
    """
    variables = script_env(server, gate.port, dbname, None)
    for name, value in (env or {}).items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = value
    shown = " ".join(f"{k}={v}" for k, v in (env or {}).items() if v is not None)
    print(f"$ {shown + ' ' if shown else ''}bash {script} {' '.join(args)}".rstrip(), flush=True)
    proc = subprocess.Popen(
        ["bash", script, *args],
        cwd=Path.cwd(),
        env=variables,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
        status: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        output, _ = proc.communicate()
        status = None
    print(readable(output, gate.port), end="")
    if status is None:
        print(f"(still running after {timeout:.0f} s: stopped by the course)")
    else:
        print(f"(exit status {status})")


def readable(output: str, port: int) -> str:
    """Shown as a terminal would, minus what changes from run to run or names this machine.

    The gate's address becomes `db:PORT`; paths become relative and a traceback keeps the
    project's frames and the error (as `%alembic --short-tb`); a line the script printed again
    and again (once a second) is shown once, marked `(repeated)`.
    """
    output = output.replace(f"127.0.0.1:{port}", SHOWN_ADDRESS).replace(str(port), "PORT")
    output = shorten_traceback(sanitize(output.replace("127.0.0.1", "db"), Path.cwd()))
    lines = output.splitlines()
    counts = Counter(line for line in lines if line.strip() and not line.startswith(" "))
    seen: set[str] = set()
    shown: list[str] = []
    for line in lines:
        if counts[line] > 1:
            if line in seen:
                continue
            seen.add(line)
            line += "   (repeated)"
        shown.append(line)
    return "".join(line + "\n" for line in shown)
