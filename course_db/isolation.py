"""Run a grader in throwaway processes that end with the check, however the check ends.

The learner's code may crash, loop forever, fork, allocate gigabytes, print gigabytes or kill its
parent, so it never runs in the caller's process. A check is two processes:

- the **guardian**, forked from the caller: it runs no learner code. It sits in its own session (a
  Ctrl-C in the terminal does not reach it), adopts every orphan below it (`processes.py`), keeps
  the check's own deadline and memory limit, keeps the head and tail of what the check printed,
  and notices its caller's death through a pipe that closes (a kernel interrupt, `kill -9`, a
  closed laptop lid). Whatever happened, it then ends every process the check started, removes the
  check's scratch folders and runs the caller's clean-up (dropping the check's databases);
- the **grader**, forked from the guardian: it imports the learner's `env.py` and models fresh and
  runs the lesson's grader. On Linux it is killed the moment its guardian dies.

Where `fork` exists, the caller (a warm worker, or the `course` command itself) has already
imported Alembic, SQLAlchemy and psycopg, and the children inherit them for free: a check then
costs tens of milliseconds instead of an interpreter start. Never fork a notebook kernel: its
running event loop breaks the learner's async `env.py` (`asyncio.run() cannot be called from a
running event loop`); the notebook talks to a worker process instead (`worker.py`). Where `fork`
does not exist (Windows; the course supports it through WSL), the job runs in a fresh interpreter
with the time limit only.

macOS gets the deadline, the caller's-death pipe, the output limit and the process group; it has no
subreaper and no `/proc`, so a process the learner starts in a new session outlives the check, and
memory is not limited.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course_db import processes
from course_db.errors import SetupError
from course_db.output import HEAD_AND_TAIL, KeptOutput

GRACE = 10.0  # how long the caller waits past the limit before it stops a guardian that hangs
SETTLE = 30.0  # how long a caller waits for a guardian's clean-up before doing it itself
POLL = 0.05  # how often the guardian looks at the grader's memory and exit
IN_CHECK = "COURSE_IN_CHECK"  # set in the grader: `course` commands refuse to run inside a check
SCRATCH = "alembic-course"  # scratch folders: alembic-course-KIND-PID-XXXXXXXX
SCRATCH_NAME = re.compile(rf"{SCRATCH}-[a-z0-9]+-(?P<pid>[1-9][0-9]*)-[a-z0-9_]{{8}}")


@dataclass(frozen=True)
class Job:
    """`module.function(**kwargs)`; kwargs and the return value are JSON."""

    module: str
    function: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Limits:
    """What one check may use: seconds of wall-clock time, bytes of memory and of kept output."""

    timeout: float
    memory: int = 2 * 2**30  # the grader and everything it starts, resident (Linux)
    output: int = HEAD_AND_TAIL  # characters kept of the head and of the tail of its output


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    crash: str = ""  # the grader raised: a traceback (a course bug or a database problem)
    died: str = ""  # the grader ended without answering: learner code exited or crashed it
    timed_out: bool = False
    memory_exceeded: bool = False
    setup_error: tuple[str, str] | None = None  # (message, tip): the check could not run
    output: str = ""  # the head and tail of what the check printed outside the grader's capture
    attachments: dict[str, Any] = field(default_factory=dict)  # see `attach`


# What the grader hands back besides its results (the schema before and after, for the picture).
_attachments: dict[str, Any] = {}


def attach(key: str, value: Any) -> None:
    """In the grader: send `value` (JSON) back with the answer, as `Outcome.attachments[key]`."""
    _attachments[key] = value


def attached() -> dict[str, Any]:
    return _attachments


def preload() -> None:
    """Import what every check needs, once, so forked children start warm."""
    import alembic.command  # noqa: F401
    import psycopg  # noqa: F401
    import sqlalchemy.ext.asyncio  # noqa: F401
    from sqlalchemy.dialects.postgresql import psycopg as _dialect  # noqa: F401


def call(job: Job) -> Any:
    return getattr(importlib.import_module(job.module), job.function)(**job.kwargs)


# Guardians that answered and may still be cleaning up, with the clean-up to run if they cannot.
_pending: dict[int, Callable[[], None] | None] = {}


def run_isolated(job: Job, limits: Limits, cleanup: Callable[[], None] | None = None) -> Outcome:
    """Run `job` in a guardian and its grader; `cleanup` runs once the check has ended.

    The guardian runs `cleanup` after answering (off the caller's clock); if the guardian itself
    was killed, the caller runs it. `settle()` waits for the guardians' clean-ups.
    """
    if not hasattr(os, "fork"):
        return _run_subprocess(job, limits, cleanup)
    answer_r, answer_w = os.pipe()
    lifeline_r, lifeline_w = os.pipe()  # closes when the caller dies: the guardian then stops
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the guardian: never returns
        os.close(answer_r)
        os.close(lifeline_w)
        _guardian(job, limits, cleanup, answer_w, lifeline_r)
    os.close(answer_w)
    os.close(lifeline_r)
    try:
        answer = _read_all(answer_r, limits.timeout + GRACE)
    except BaseException:  # Ctrl-C: the guardian sees the lifeline close, ends it all, cleans up
        os.close(lifeline_w)
        _wait_or_kill(pid, SETTLE, cleanup)
        raise
    os.close(lifeline_w)
    if answer is None:  # the guardian itself hangs: stop it and clean up here
        _wait_or_kill(pid, 0, cleanup)
        return Outcome(timed_out=True)
    if not answer:  # the guardian was killed before answering: clean up here
        _wait_or_kill(pid, SETTLE, None)
        _run(cleanup)
        return Outcome(died="the check's guardian was killed")
    _pending[pid] = cleanup
    return _outcome(answer)


def settle(timeout: float = SETTLE) -> None:
    """Wait until every guardian this process started has finished its clean-up."""
    deadline = time.monotonic() + timeout
    for pid, cleanup in list(_pending.items()):
        _wait_or_kill(pid, max(0.0, deadline - time.monotonic()), cleanup)
        del _pending[pid]


def _wait_or_kill(pid: int, timeout: float, cleanup: Callable[[], None] | None) -> None:
    """Reap guardian `pid`, killing it after `timeout`; if it had to be killed, run `cleanup`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        if time.monotonic() >= deadline:
            processes.kill_group(pid)  # its grader dies with it (`die_with_parent`)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            _run(cleanup)
            return
        time.sleep(0.01)


def _run(cleanup: Callable[[], None] | None) -> None:
    if cleanup is not None:
        with contextlib.suppress(Exception):
            cleanup()


def _read_all(fd: int, timeout: float) -> bytes | None:
    """Everything written to `fd` until it closes, or None after `timeout` seconds."""
    data, closed = _read_closing(fd, timeout)
    return data if closed else None


def _outcome(answer: bytes) -> Outcome:
    try:
        data = json.loads(answer.decode())
    except ValueError:
        return Outcome(died="its guardian ended without an answer")
    setup = data.get("setup_error")
    return Outcome(
        value=data.get("value"),
        crash=data.get("crash", ""),
        died=data.get("died", ""),
        timed_out=data.get("timed_out", False),
        memory_exceeded=data.get("memory_exceeded", False),
        setup_error=tuple(setup) if setup else None,
        output=data.get("output", ""),
        attachments=attachments if isinstance(attachments := data.get("attachments"), dict) else {},
    )


class _Stop(Exception):
    """SIGTERM or SIGHUP reached the guardian: end the check and clean up."""


def _stop(signum: int, frame: object) -> None:
    raise _Stop


def _guardian(
    job: Job,
    limits: Limits,
    cleanup: Callable[[], None] | None,
    answer_w: int,
    lifeline_r: int,
) -> None:
    code = 0
    try:
        processes.start_forked()  # its grader inherits this too
        os.setsid()  # out of the terminal's process group: Ctrl-C reaches only the caller
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGHUP, _stop)
        processes.become_subreaper()
        answer = _supervise(job, limits, lifeline_r)
        with contextlib.suppress(OSError):  # the caller may be gone
            _write_all(answer_w, json.dumps(answer).encode())
    except BaseException:
        code = 1
        with contextlib.suppress(OSError):
            _write_all(answer_w, json.dumps({"crash": traceback.format_exc()}).encode())
    finally:
        with contextlib.suppress(OSError):
            os.close(answer_w)
        with contextlib.suppress(BaseException):
            processes.kill_tree(os.getpid())
        with contextlib.suppress(BaseException):
            drop_scratch_dirs(os.getpid())
        with contextlib.suppress(BaseException):
            _run(cleanup)
        os._exit(code)


def _supervise(job: Job, limits: Limits, lifeline_r: int) -> dict[str, Any]:
    """Run the grader; stop it at the deadline, the memory limit or the caller's death."""
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the grader: never returns
        os.close(result_r)
        os.close(output_r)
        os.close(lifeline_r)
        _grader(job, result_w, output_w)
    os.close(result_w)
    os.close(output_w)
    kept = KeptOutput(limits.output)
    payload = bytearray()
    answer: dict[str, Any] = {}
    open_fds = {result_r, output_r}
    deadline = time.monotonic() + limits.timeout
    status: int | None = None
    next_look = 0.0  # when to measure the grader's memory next (not on every chunk of output)
    try:
        while status is None:
            left = deadline - time.monotonic()
            if left <= 0:
                answer["timed_out"] = True
                break
            ready, _, _ = select.select([*open_fds, lifeline_r], [], [], min(left, POLL))
            if lifeline_r in ready:
                answer["parent_gone"] = True
                break
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    open_fds.discard(fd)
                elif fd == output_r:
                    kept.add_bytes(chunk)
                else:
                    payload += chunk
            done, waited = os.waitpid(pid, os.WNOHANG)
            if done:
                status = waited
            elif time.monotonic() >= next_look:
                if processes.tree_rss(pid) > limits.memory:
                    answer["memory_exceeded"] = True
                    break
                next_look = time.monotonic() + POLL
    except _Stop:
        answer["parent_gone"] = True
    processes.kill_tree(os.getpid(), group=pid)
    drop_scratch_dirs(pid)
    for fd in (output_r, result_r):  # every writer is dead now: read what is left, then EOF
        rest = _drain(fd)
        if fd == output_r:
            kept.add_bytes(rest, final=True)
        else:
            payload += rest
    answer["output"] = kept.text()
    if answer.keys() - {"output"}:
        return answer
    try:
        answer.update(json.loads(payload.decode()))
    except ValueError:
        answer["died"] = processes.describe_status(status) if status is not None else "no answer"
    return answer


def _grader(job: Job, result_w: int, output_w: int) -> None:
    code = 0
    try:
        processes.die_with_parent()
        os.setpgid(0, 0)  # its own group inside the guardian's session
        processes.print_to(output_w, output_w)
        os.close(output_w)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.environ[IN_CHECK] = "1"
        forget_project_imports()
        processes.python_default_warnings()
        payload = json.dumps({"value": call(job), "attachments": _attachments})
    except SetupError as exc:
        payload = json.dumps({"setup_error": [exc.message, exc.tip]})
    except BaseException:
        payload = json.dumps({"crash": traceback.format_exc()})
        code = 1
    try:
        _write_all(result_w, payload.encode())
    finally:
        os._exit(code)


def _drain(fd: int, timeout: float = 1.0) -> bytes:
    """What is left in a pipe whose writers are gone (at most `timeout` seconds and 64 MiB of it:
    a writer that escaped the kill may keep writing)."""
    return _read_closing(fd, timeout, 64 * 2**20)[0]


def _read_closing(fd: int, timeout: float, limit: int | None = None) -> tuple[bytes, bool]:
    """What is written to `fd` (then closed here), and whether its writers closed it within
    `timeout` seconds and `limit` bytes (`processes.read_until_closed`)."""
    chunks: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        closed = processes.read_until_closed({fd: chunks.append}, deadline, limit)
    finally:
        os.close(fd)
    return b"".join(chunks), closed


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def scratch_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for a grader (`alembic-course-KIND-PID-...`), named after its process.

    A check killed at its time limit, or ended by the learner's code, never runs its own clean-up;
    its guardian removes what the name marks as that check's (`drop_scratch_dirs`), and `course db
    prune` what a dead guardian left (`prune_scratch_dirs`).
    """
    return tempfile.TemporaryDirectory(prefix=f"{SCRATCH}-{kind}-{os.getpid()}-")


def drop_scratch_dirs(pid: int) -> None:
    """Remove the `scratch_dir` folders of process `pid`, which has ended."""
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH}-*-{pid}-*"):
        shutil.rmtree(path, ignore_errors=True)


def leftover_scratch_dirs() -> list[Path]:
    """The scratch folders of checks whose process is gone (this machine's temporary folder).

    Only names `scratch_dir` makes count: a temporary folder is anyone's, a similar name is not
    the course's.
    """
    found = []
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH}-*"):
        named = SCRATCH_NAME.fullmatch(path.name)
        if named and path.is_dir() and not processes.pid_alive(int(named["pid"])):
            found.append(path)
    return found


def prune_scratch_dirs() -> list[Path]:
    """Remove the scratch folders of checks whose process is gone; return what was removed."""
    found = leftover_scratch_dirs()
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


def forget_project_imports() -> None:
    """Drop what the parent imported from outside Python, its packages and the course.

    A learner's `app` package must be imported fresh from the copy being graded; a parent that
    imported some other project's `app` (a test process can) would hand the child that one.
    Finders cached for relative `sys.path` entries go too: Alembic's `prepend_sys_path = .` adds
    `.`, and Python pins a finder for `.` to the directory that was current when it was created,
    so a finder inherited from the parent would keep importing from the parent's old folder.
    """
    kept = tuple(
        os.path.realpath(root) + os.sep
        for root in (sys.prefix, sys.base_prefix, os.path.dirname(__file__))
    )
    for name, module in list(sys.modules.items()):
        location = getattr(module, "__file__", None)
        if location and not os.path.realpath(location).startswith(kept):
            del sys.modules[name]
    for entry in [entry for entry in sys.path_importer_cache if not os.path.isabs(entry)]:
        del sys.path_importer_cache[entry]
    importlib.invalidate_caches()


def _run_subprocess(job: Job, limits: Limits, cleanup: Callable[[], None] | None) -> Outcome:
    """Windows: the job in a fresh interpreter, with the time limit only."""
    with tempfile.TemporaryDirectory() as tmp:
        result_path = os.path.join(tmp, "result.json")
        spec = json.dumps({"job": job.__dict__, "result": result_path})
        proc = subprocess.Popen(
            [sys.executable, "-m", "course_db.isolation"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", IN_CHECK: "1"},
        )
        try:
            try:
                printed, _ = proc.communicate(spec, timeout=limits.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                printed, _ = proc.communicate()
                return Outcome(timed_out=True, output=printed[-limits.output :])
            result = Path(result_path)
            if not result.exists():
                return Outcome(died=f"exit status {proc.returncode}", output=printed)
            return _outcome(json.dumps(json.loads(result.read_text())).encode())
        finally:
            if cleanup is not None:
                cleanup()


def _subprocess_main() -> None:
    spec = json.loads(sys.stdin.read())
    try:
        payload: dict[str, Any] = {"value": call(Job(**spec["job"])), "attachments": _attachments}
    except SetupError as exc:
        payload = {"setup_error": [exc.message, exc.tip]}
    except BaseException:
        payload = {"crash": traceback.format_exc()}
    with open(spec["result"], "w") as handle:
        json.dump(payload, handle)


if __name__ == "__main__":
    _subprocess_main()
