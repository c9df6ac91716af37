"""Run the real `alembic` command line on a project folder, against exactly one lesson database.

A command runs in a fresh `python -m alembic` process, or, with `warm=True` (a notebook's
`%alembic`, where a learner waits on every cell), in a process forked from the forkserver
(`forkserver.py`), which imported Alembic, SQLAlchemy and psycopg once: the same CLI entry point
(`alembic.config.main`), about 20 ms to start instead of 400 ms of imports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from course_db import forkserver
from course_db.output import KeptOutput
from course_db.processes import (
    kill_group,
    print_to,
    python_default_warnings,
    read_until_closed,
    start_forked,
)


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
    warm: bool = False,
) -> RunResult:
    """Run `alembic ARGS` in `project` with a wall-clock limit; stdout and stderr interleaved.

    With `separate_stderr`, `output` is stdout only and `errors` holds stderr (Alembic's log lines),
    as a shell's `alembic upgrade head --sql > migration.sql` keeps them apart. `warm`: fork it
    from the forkserver (see the module's docstring); worth it in a process that runs many. Of
    what it prints, the head and the tail are kept (`output.KeptOutput`): a migration may print
    gigabytes.
    """
    env = child_env(database_url, extra_env)
    started = time.perf_counter()
    pipes = [os.pipe() for _ in range(2 if separate_stderr else 1)]
    kept = {read: KeptOutput() for read, _ in pipes}  # a migration may print gigabytes
    sinks = {read: output.add_bytes for read, output in kept.items()}
    start = _start_forked if warm else _start_fresh
    try:
        pid, wait = start(project, list(args), env, [write for _, write in pipes])
        try:
            timed_out = not read_until_closed(sinks, time.monotonic() + timeout)
            if timed_out:
                kill_group(pid)
                read_until_closed(sinks, time.monotonic() + 5)  # what it printed before it died
            returncode = wait()
        except BaseException:  # Ctrl-C, an interrupted kernel: its own session would keep it
            kill_group(pid)  # running
            wait()
            raise
    finally:
        for read, _ in pipes:
            os.close(read)
    for output in kept.values():
        output.add_bytes(b"", final=True)
    texts = [output.text() for output in kept.values()]
    errors = texts[1] if separate_stderr else ""
    duration = time.perf_counter() - started
    return RunResult(list(args), returncode, texts[0], duration, timed_out, errors)


Started = tuple[int, Callable[[], int]]  # the process's pid, and how to wait for its exit status


def _start_fresh(project: Path, args: list[str], env: dict[str, str], writes: list[int]) -> Started:
    """`python -m alembic ARGS` writing to `writes` (stdout, then stderr if apart), which it
    closes here."""
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "alembic", *args],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=writes[0],
            stderr=writes[1] if len(writes) > 1 else subprocess.STDOUT,
            start_new_session=True,  # so a timeout kills whatever the migration started, too
        )
    finally:
        for write in writes:
            os.close(write)
    return proc.pid, proc.wait


def _start_forked(
    project: Path, args: list[str], env: dict[str, str], writes: list[int]
) -> Started:
    """The same command in a child of the forkserver (`_alembic_main`)."""
    process = forkserver.start_with_fds(_alembic_main, (str(project), args, env), writes)
    assert process.pid is not None  # started

    def wait() -> int:
        process.join()
        return process.exitcode or 0

    return process.pid, wait


def _alembic_main(project: str, args: list[str], env: dict[str, str], *outputs: Connection) -> None:
    """In the forked child: become `cd PROJECT && python -m alembic ARGS` with `env`, printing to
    `outputs` (stdout, then stderr if apart)."""
    import alembic.config

    start_forked(env)
    os.setsid()  # its own group, so a timeout kills whatever the migration started too
    print_to(outputs[0].fileno(), outputs[-1].fileno(), unbuffered=True)  # as PYTHONUNBUFFERED=1
    for output in outputs:
        output.close()
    os.chdir(project)
    sys.path[:] = [os.getcwd(), *(entry for entry in sys.path if os.path.isabs(entry))]
    sys.argv = [alembic.config.__file__, *args]
    python_default_warnings(env.get("PYTHONWARNINGS", ""))
    try:
        alembic.config.main(argv=args, prog="alembic")
    except SystemExit:
        raise
    except BaseException as exc:  # as the interpreter reports it, from Alembic's frames on
        tb = exc.__traceback__.tb_next if exc.__traceback__ else None
        traceback.print_exception(type(exc), exc, tb)
        os._exit(1)
