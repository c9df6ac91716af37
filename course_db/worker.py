"""The grader's warm worker: a long-lived process that runs checks for a notebook or the tests.

It imports Alembic, SQLAlchemy and psycopg once and never imports learner code; each check forks a
fresh child from it (`isolation.py`). The notebook kernel cannot fork itself (its event loop breaks
async `env.py`), and pytest-xdist workers run threads, so both talk to this process over a pipe:
one JSON request per line in, one JSON report per line out.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import traceback
from pathlib import Path

from course_db.report import Report

# What a request carries from the caller's environment, so the worker grades the same way.
FORWARDED = ("COURSE_DATABASE_URL", "COURSE_DB_PREFIX", "COURSE_LEARNER", "COURSE_SOURCE")


class WorkerClient:
    """Starts the worker on first use and restarts it if it died."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker now, so it is warm by the time the learner calls check()."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "course_db.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
                start_new_session=True,  # interrupting the kernel must not kill the worker
            )
        return self._proc

    def check(
        self, lesson: str, project: Path | None = None, timeout: float | None = None
    ) -> Report:
        request = {
            "lesson": lesson,
            "project": str(project) if project else None,
            "timeout": timeout,
            "env": {key: os.environ.get(key) for key in FORWARDED},
        }
        with self._lock:
            proc = self._ensure()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            except KeyboardInterrupt:  # its answer would reach the next check: start afresh
                self.close_locked(wait=0)
                raise
            if not line:
                self.close_locked()
                return Report(
                    lesson=lesson,
                    error="The course's grading worker stopped unexpectedly.",
                    tip="run the check again: a new worker starts by itself.",
                )
        return Report.from_dict(json.loads(line))

    def close(self) -> None:
        with self._lock:
            self.close_locked()

    def close_locked(self, wait: float = 5.0) -> None:
        """Ask the worker to finish its clean-up, then make sure it is gone."""
        if self._proc is not None:
            with contextlib.suppress(OSError):
                if self._proc.stdin is not None:  # always a pipe: the worker reads jobs from it
                    self._proc.stdin.close()
            try:
                self._proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:  # the kernel lives on: do not leak the pipe
                self._proc.stdout.close()
            self._proc = None


def serve() -> None:
    from course_db.isolation import preload
    from course_db.runner import Spares, run_check

    preload()
    spares = Spares()
    for line in sys.stdin:
        request = json.loads(line)
        for key, value in request["env"].items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        try:
            report = run_check(request["lesson"], request["project"], request["timeout"], spares)
        except Exception:  # a course bug: answer it, and stay up for the next check
            report = Report(
                lesson=request["lesson"],
                error="The checker itself failed: a course bug or a database problem.",
                tip="run the check again; if it keeps failing, report what --verbose prints.",
                detail=traceback.format_exc(),
            )
        sys.stdout.write(json.dumps(report.to_dict()) + "\n")
        sys.stdout.flush()
        spares.tidy(report.lesson)  # after answering: off the learner's clock


if __name__ == "__main__":
    serve()
