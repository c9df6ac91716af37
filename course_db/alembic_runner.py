"""Run the real `alembic` command line on a project folder, against exactly one lesson database.

A command runs in a fresh `python -m alembic` process, or, with `warm=True` (a notebook's
`%alembic`, where a learner waits on every cell), in a process forked from the forkserver
(`forkserver.py`), which imported Alembic, SQLAlchemy and psycopg once: the same CLI entry point
(`alembic.config.main`), about 20 ms to start instead of 400 ms of imports.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from course_db import forkserver
from course_db.processes import kill_group, print_to, python_default_warnings, start_forked


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
    from the forkserver (see the module's docstring); worth it in a process that runs many.
    """
    env = child_env(database_url, extra_env)
    if warm:
        return _run_forked(project, list(args), env, timeout, separate_stderr)
    argv = [sys.executable, "-m", "alembic", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=project,
        env=env,
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


def _run_forked(
    project: Path, args: list[str], env: dict[str, str], timeout: float, separate_stderr: bool
) -> RunResult:
    started = time.perf_counter()
    pipes = [os.pipe() for _ in range(2 if separate_stderr else 1)]
    ends = [Connection(write) for _, write in pipes]  # how multiprocessing hands a child an fd
    process = forkserver.context().Process(
        target=_alembic_main, args=(str(project), args, env, ends[0], ends[-1])
    )
    reads = [read for read, _ in pipes]
    printed: dict[int, bytearray] = {read: bytearray() for read in reads}
    try:
        try:
            forkserver.start(process)
        finally:
            for end in ends:
                end.close()
        timed_out = not _read_until_closed(printed, started + timeout)
        if timed_out and process.pid is not None:
            kill_group(process.pid)
            _read_until_closed(printed, time.perf_counter() + 5)  # what it printed before it died
        process.join()
    except BaseException:  # Ctrl-C, an interrupted kernel: the command must not run on
        if process.pid is not None:
            kill_group(process.pid)
            process.join()
        raise
    finally:
        for read in reads:
            os.close(read)
    texts = [printed[read].decode("utf-8", errors="replace") for read in reads]
    duration = time.perf_counter() - started
    errors = texts[1] if separate_stderr else ""
    return RunResult(args, process.exitcode or 0, texts[0], duration, timed_out, errors)


def _read_until_closed(printed: dict[int, bytearray], deadline: float) -> bool:
    """Add to `printed` what is written to its fds until every writer closed them (True) or
    `deadline` came first (False)."""
    with selectors.DefaultSelector() as selector:
        for fd in printed:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    printed[key.fd] += chunk
                else:
                    selector.unregister(key.fd)
    return True


def _alembic_main(
    project: str, args: list[str], env: dict[str, str], stdout: Connection, stderr: Connection
) -> None:
    """In the forked child: become `cd PROJECT && python -m alembic ARGS` with `env`."""
    import alembic.config

    start_forked(env)
    os.setsid()  # its own group, so a timeout kills whatever the migration started too
    print_to(stdout.fileno(), stderr.fileno(), unbuffered=True)  # as PYTHONUNBUFFERED=1 does
    stdout.close()
    stderr.close()
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
