"""Run the real `alembic` command line on a project folder, against exactly one lesson database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_db.processes import kill_group


@dataclass(frozen=True)
class RunResult:
    args: list[str]
    returncode: int
    output: str
    duration: float
    timed_out: bool
    errors: str = ""  # stderr, when it was kept apart from `output` (`separate_stderr=True`)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def child_env(database_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a process the course starts: `DATABASE_URL` is always ours.

    An outer `DATABASE_URL` (say, of the learner's real app) must never leak through, or a lesson
    command could migrate it. Bytecode is not written into the learner's folders.
    """
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(extra or {})
    env["DATABASE_URL"] = database_url
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_alembic(
    project: Path,
    args: Sequence[str],
    database_url: str,
    timeout: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
    separate_stderr: bool = False,
) -> RunResult:
    """Run `alembic ARGS` in `project` with a wall-clock limit; stdout and stderr interleaved.

    With `separate_stderr`, `output` is stdout only and `errors` holds stderr (Alembic's log lines),
    as a shell's `alembic upgrade head --sql > migration.sql` keeps them apart.
    """
    argv = [sys.executable, "-m", "alembic", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=project,
        env=child_env(database_url, extra_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if separate_stderr else subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a timeout kills whatever the migration started, too
    )
    try:
        output, errors = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        output, errors = proc.communicate()
        timed_out = True
    except BaseException:  # Ctrl-C, an interrupted kernel: its own session would keep it running
        kill_group(proc.pid)
        proc.wait()
        raise
    duration = time.perf_counter() - started
    return RunResult(list(args), proc.returncode, output, duration, timed_out, errors or "")
