"""One forkserver per long-lived process (a notebook kernel): warm children on demand.

multiprocessing's forkserver is a small server process that imports Alembic, SQLAlchemy and
psycopg once and forks a child per request. A notebook's `%alembic` commands and its check worker
are such children: they start in milliseconds instead of re-importing for 0.5 s, and the imported
pages stay shared with the server. It is started from a fresh interpreter, never by forking the
kernel, whose threads make a plain `fork()` unsafe.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

# What every Alembic command and every check imports.
PRELOAD = ["alembic.config", "alembic.command", "alembic.runtime.migration", "sqlalchemy"]
PRELOAD += ["psycopg"]


def context() -> ForkServerContext:
    """The forkserver start method, with the course's imports preloaded."""
    chosen = multiprocessing.get_context("forkserver")
    chosen.set_forkserver_preload(PRELOAD)
    return chosen


_main_lock = threading.Lock()


def start_with_fds(
    target: Callable[..., object],
    args: Sequence[object],
    fds: Sequence[int],
    name: str | None = None,
) -> BaseProcess:
    """Start `target(*args, *ends)` in a child of the forkserver, `ends` being `fds` handed to it
    as `Connection`s (how multiprocessing passes an fd to a child). This process's copies of `fds`
    are closed, started or not: the child's are then the only ones, so its exit closes them."""
    ends = [Connection(fd) for fd in fds]
    process = context().Process(target=target, args=(*args, *ends), name=name)
    try:
        start(process)
    finally:
        for end in ends:
            end.close()
    return process


def start(process: BaseProcess) -> None:
    """`process.start()`, without multiprocessing re-running the caller's `__main__` in the child.

    multiprocessing re-imports the parent's main script (or module) in every child, so that
    targets defined there resolve. The course's targets live in `course_db`: a script that did not
    guard its code with `if __name__ == "__main__"` would run again in each child, and pytest's
    would be re-imported every time. A notebook kernel's `__main__` has no file: the same then
    holds everywhere.
    """
    names = vars(sys.modules["__main__"])
    with _main_lock:
        saved: dict[str, object] = {
            name: names[name] for name in ("__file__", "__spec__") if name in names
        }
        names.pop("__file__", None)
        names["__spec__"] = None  # multiprocessing reads it unguarded
        try:
            _start_when_served(process)
        finally:
            names.pop("__spec__")
            names.update(saved)


def _start_when_served(process: BaseProcess, patience: float = 3.0) -> None:
    """`process.start()`, again while the forkserver is being replaced.

    Learner code may kill its parent, here the forkserver. multiprocessing starts a new one only
    once the old one is reapable; until then (a moment, longer on a busy machine) its socket
    refuses the connection, or takes it into its backlog and closes it unanswered (EOFError).
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            process.start()
            return
        except (OSError, EOFError):  # refused, a socket file gone, a broken pipe, no answer
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def warm_up() -> None:
    """Start the forkserver now (it imports in the background), so the first child does not
    wait for its imports."""
    context()
    forkserver.ensure_running()
