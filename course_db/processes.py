"""Process trees: find, measure and end everything a check started.

Learner code may start processes of its own (`subprocess.Popen`, with or without a new session)
and leave them running. On Linux a check's guardian becomes a *child subreaper*
(`PR_SET_CHILD_SUBREAPER`): whatever its descendants leave orphaned is re-parented to it instead of
to PID 1, so walking `/proc/<pid>/task/<tid>/children` from the guardian finds every process the
check started, however it detached itself. Elsewhere (macOS) only the check's process group is
reachable: a process that starts a new session escapes it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import os
import selectors
import signal
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PROC = Path("/proc")


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def die_with_parent() -> None:
    """Linux: be killed (SIGKILL) the moment the parent process dies, whatever it was doing."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_forked(env: Mapping[str, str] | None = None) -> None:
    """The first steps of a child forked without exec (a check, a forked `alembic`, a worker).

    - The objects it inherited leave garbage collection (`gc.freeze`, O(1)): its collections then
      walk only what it creates. Walking the parent's whole heap, a pytest worker's or a warm
      process's imports, took 15 % of the test suite's CPU (perf, 49 Hz over a run) and wrote to
      every page of it, which the kernel then had to copy.
    - `env`, when given, replaces the environment.
    - It writes no bytecode: what it imports (a learner's project, a scratch copy) is not ours to
      write into.
    """
    gc.freeze()
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    sys.dont_write_bytecode = True


def print_to(stdout_fd: int, stderr_fd: int, unbuffered: bool = False) -> None:
    """Make fds 1 and 2, `sys.stdout` and `sys.stderr` write to these pipes, line by line, or
    `unbuffered` (as `python -u`: what reaches a shared pipe keeps the order it was written in,
    and nothing waits in a buffer when the process ends with `os._exit`)."""
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream: TextIO
        if unbuffered:
            raw = io.FileIO(fd, "w", closefd=False)
            stream = io.TextIOWrapper(raw, errors="backslashreplace", write_through=True)
        else:  # one write per line: a flood of prints costs half the system calls
            stream = open(fd, "w", buffering=1, closefd=False, errors="backslashreplace")  # noqa: SIM115
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def python_default_warnings(options: str = "") -> None:
    """Python's own warning filters and printing, whatever the parent set, plus `options` (the
    syntax of PYTHONWARNINGS), as a fresh interpreter would have them.

    A forked child must answer as it would from a shell. Forked from a test process, a check would
    inherit pytest's filters (warnings as errors: a learner's deprecated call would change the
    verdict) and its recorder (warnings kept in a list, never printed).
    """
    warnings.resetwarnings()
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category, append=True)
    warnings.showwarning = _print_warning
    if options:  # as the interpreter reads PYTHONWARNINGS at start-up (invalid ones are ignored)
        getattr(warnings, "_processoptions")(options.split(","))  # noqa: B009  (private, typeshed omits it)


def _print_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    text = warnings.formatwarning(message, category, filename, lineno, line)
    with contextlib.suppress(OSError):  # as Python's own: a closed stderr loses the warning
        (file or sys.stderr).write(text)


def read_until_closed(
    sinks: Mapping[int, Callable[[bytes], object]], deadline: float, limit: int | None = None
) -> bool:
    """Hand what is written to each fd to its sink, until every writer has closed it (True), or
    until `deadline` (`time.monotonic()`) or `limit` bytes read in all came first (False).

    `limit` is for pipes whose writers were killed: one that escaped the kill may write forever.
    """
    read = 0
    with selectors.DefaultSelector() as selector:
        for fd in sinks:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            left = deadline - time.monotonic()
            if left <= 0 or (limit is not None and read > limit):
                return False
            for key, _ in selector.select(left):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    sinks[key.fd](chunk)
                    read += len(chunk)
                else:
                    selector.unregister(key.fd)
    return True


def become_subreaper() -> bool:
    """Linux: adopt the orphans of every descendant, so none escapes `kill_tree`."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` exists (a zombie counts until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def children(pid: int) -> list[int]:
    """The direct children of `pid` (Linux), or [] where `/proc` does not tell."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in (PROC / str(pid) / "task").iterdir():
            with contextlib.suppress(OSError):
                found.extend(int(part) for part in (task / "children").read_text().split())
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, parents before children."""
    found: list[int] = []
    queue = children(pid)
    while queue:
        child = queue.pop(0)
        if child not in found:
            found.append(child)
            queue.extend(children(child))
    return found


def tree_rss(pid: int) -> int:
    """Resident memory, in bytes, of `pid` and every process below it (Linux; else 0)."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    for member in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((PROC / str(member) / "statm").read_text().split()[1]) * page
    return total


def started_from(folder: Path) -> list[int]:
    """Processes whose program (the first or second word of their command line: an interpreter
    and its script) lies under `folder` (Linux; else [])."""
    inside = str(folder.absolute()) + os.sep
    found = []
    with contextlib.suppress(OSError):
        for entry in PROC.iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                argv = (entry / "cmdline").read_bytes().split(b"\0")[:2]
                if any(os.fsdecode(arg).startswith(inside) for arg in argv):
                    found.append(int(entry.name))
    return found


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid`, or the process alone if it leads none."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def kill_tree(root: int, group: int | None = None, rounds: int = 50) -> None:
    """SIGKILL `group` and every descendant of `root` (not `root` itself), reaping them.

    Called by the subreaper `root`, so orphans come back to it and are reaped here. A process that
    forks while being killed is caught in the next round.
    """
    if group is not None:
        kill_group(group)
    for _ in range(rounds):
        below = descendants(root)
        for pid in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        reap_children()
        if not below:
            return
        time.sleep(0.01)


def reap_children() -> None:
    """Collect every child that has ended (zombies), without waiting for the others."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def describe_status(status: int) -> str:
    """`killed by signal 9`, `exit status 3`: how a process ended, from `os.waitpid`'s status.

    The status is decoded by `os.waitstatus_to_exitcode` (-N for signal N, as `subprocess` reports
    it), which the mutation harness uses too: one decoding, not two.
    """
    code = os.waitstatus_to_exitcode(status)
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"
