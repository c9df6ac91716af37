"""Run a grader in a throwaway child process, with a wall-clock limit.

The learner's code may crash, loop forever or leave state behind, so it never runs in the caller's
process. Where `fork` exists, the caller (a warm worker, or the `course` command itself) has already
imported Alembic, SQLAlchemy and psycopg, and the child inherits them for free: a check then costs
tens of milliseconds instead of an interpreter start. Never fork a notebook kernel: its running
event loop breaks the learner's async `env.py` (`asyncio.run() cannot be called from a running
event loop`); the notebook talks to a worker process instead (`worker.py`).
Where `fork` does not exist (Windows), the job runs in a fresh interpreter.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_db.alembic_runner import kill_group


@dataclass(frozen=True)
class Job:
    """`module.function(**kwargs)`; kwargs and the return value are JSON."""

    module: str
    function: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    crash: str = ""  # the grader raised: a traceback (a course bug or a database problem)
    died: str = ""  # the child ended without answering: learner code exited or crashed it
    timed_out: bool = False
    output: str = ""  # whatever the child printed outside the grader's own capture


def preload() -> None:
    """Import what every check needs, once, so forked children start warm."""
    import alembic.command  # noqa: F401
    import psycopg  # noqa: F401
    import sqlalchemy.ext.asyncio  # noqa: F401
    from sqlalchemy.dialects.postgresql import psycopg as _dialect  # noqa: F401


def call(job: Job) -> Any:
    return getattr(importlib.import_module(job.module), job.function)(**job.kwargs)


def run_isolated(job: Job, timeout: float) -> Outcome:
    if hasattr(os, "fork"):
        return _run_forked(job, timeout)
    return _run_subprocess(job, timeout)


def _run_forked(job: Job, timeout: float) -> Outcome:
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile() as capture:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_end)
            _child(job, write_end, capture.fileno())
        os.close(write_end)
        payload, timed_out = _read_until(read_end, pid, timeout)
        _, status = os.waitpid(pid, 0)
        capture.seek(0)
        printed = capture.read().decode(errors="replace")
    return _ended(_outcome(payload, timed_out, status, printed), pid)


def _ended(outcome: Outcome, pid: int) -> Outcome:
    """`outcome`, after removing the scratch folders of a check that did not finish.

    A check that answered (passed, failed or crashed) left every `with scratch_dir()` block; one
    that was stopped at its limit or died did not, so only then is `/tmp` searched.
    """
    if outcome.timed_out or outcome.died:
        drop_scratch_dirs(pid)
    return outcome


def scratch_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for a grader (`course-KIND-PID-...`), named after the check's process.

    A check killed at its time limit, or ended by the learner's code, never runs its own clean-up;
    the process that started it removes what the name marks as that check's (`drop_scratch_dirs`).
    """
    return tempfile.TemporaryDirectory(prefix=f"course-{kind}-{os.getpid()}-")


def drop_scratch_dirs(pid: int) -> None:
    """Remove the `scratch_dir` folders a check that has ended (process `pid`) left behind."""
    for path in Path(tempfile.gettempdir()).glob(f"course-*-{pid}-*"):
        shutil.rmtree(path, ignore_errors=True)


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


def _child(job: Job, write_end: int, capture_fd: int) -> None:
    code = 0
    try:
        os.setsid()  # a timeout kills the child's whole group, subprocesses included
        os.dup2(capture_fd, 1)
        os.dup2(capture_fd, 2)
        sys.dont_write_bytecode = True
        forget_project_imports()
        payload = json.dumps({"value": call(job)})
    except BaseException:
        payload = json.dumps({"crash": traceback.format_exc()})
        code = 1
    try:
        data = payload.encode()
        while data:
            data = data[os.write(write_end, data) :]
    finally:
        os._exit(code)


def _read_until(fd: int, pid: int, timeout: float) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                kill_group(pid)
                return b"".join(chunks), True
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return b"".join(chunks), False
                chunks.append(chunk)
    finally:
        os.close(fd)


def _outcome(payload: bytes, timed_out: bool, status: int, printed: str) -> Outcome:
    if timed_out:
        return Outcome(timed_out=True, output=printed)
    try:
        data = json.loads(payload.decode())
    except ValueError:
        return Outcome(died=_describe_status(status), output=printed)
    return Outcome(value=data.get("value"), crash=data.get("crash", ""), output=printed)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"


def _run_subprocess(job: Job, timeout: float) -> Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        result_path = os.path.join(tmp, "result.json")
        spec = json.dumps({"job": job.__dict__, "result": result_path})
        proc = subprocess.Popen(
            [sys.executable, "-m", "course_db.isolation"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        try:
            printed, _ = proc.communicate(spec, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            printed, _ = proc.communicate()
            return _ended(Outcome(timed_out=True, output=printed), proc.pid)
        result = Path(result_path)
        payload = result.read_bytes() if result.exists() else b""
        return _ended(_outcome(payload, False, proc.returncode, printed), proc.pid)


def _subprocess_main() -> None:
    spec = json.loads(sys.stdin.read())
    try:
        payload = {"value": call(Job(**spec["job"]))}
    except BaseException:
        payload = {"crash": traceback.format_exc()}
    with open(spec["result"], "w") as handle:
        json.dump(payload, handle)


if __name__ == "__main__":
    _subprocess_main()
