"""The grader's warm worker: a long-lived process that runs checks for a notebook or the tests.

It is forked from the forkserver (`forkserver.py`), so it starts with Alembic, SQLAlchemy and
psycopg already imported and shares those pages with it, and it never imports learner code; each
check forks a fresh child from it (`isolation.py`). The notebook kernel cannot fork itself (its
event loop breaks async `env.py`), and pytest-xdist workers run threads, so both talk to this
process over a pair of pipes: one JSON request per line in, one JSON report per line out.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TextIO

from course_db import forkserver
from course_db.processes import start_forked
from course_db.report import Report

# What a request carries from the caller's environment, so the worker grades the same way.
FORWARDED = ("COURSE_DATABASE_URL", "COURSE_DB_PREFIX", "COURSE_LEARNER", "COURSE_SOURCE")


class WorkerClient:
    """Starts the worker on first use and restarts it if it died."""

    def __init__(self) -> None:
        self._process: BaseProcess | None = None
        self._pipes: tuple[TextIO, TextIO] | None = None  # (requests, answers)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the worker now, so it is warm by the time the learner calls check()."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> tuple[TextIO, TextIO]:
        if self._process is None or self._pipes is None or not self._process.is_alive():
            self.close_locked(wait=0)
            env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
            env["PYTHONDONTWRITEBYTECODE"] = "1"  # nor does what the checks start write any
            requests_r, requests_w = os.pipe()
            answers_r, answers_w = os.pipe()
            process = forkserver.start_with_fds(
                _serve_forked, (env,), (requests_r, answers_w), name="course-check-worker"
            )
            if self._process is None:  # the first start: end it before multiprocessing's
                atexit.register(self.close)  # exit handler waits for it (it would wait forever)
            self._process = process
            self._pipes = (open(requests_w, "w"), open(answers_r))  # noqa: SIM115
        return self._pipes

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
            requests, answers = self._ensure()
            try:
                requests.write(json.dumps(request) + "\n")
                requests.flush()
                line = answers.readline()
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
        if self._pipes is not None:
            requests, answers = self._pipes
            with contextlib.suppress(OSError):
                requests.close()  # the worker's loop ends on end-of-file
            if self._process is not None:
                self._process.join(wait)
                if self._process.is_alive():
                    self._process.kill()
                    self._process.join()
            answers.close()  # the kernel lives on: do not leak the pipe
            self._pipes = None


def _serve_forked(env: dict[str, str], requests: Connection, answers: Connection) -> None:
    """In the forked child: serve checks with these pipes as stdin and stdout, with `env`."""
    start_forked(env)
    os.setsid()  # interrupting the kernel must not kill the worker
    os.dup2(requests.fileno(), 0)
    os.dup2(answers.fileno(), 1)
    requests.close()
    answers.close()
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    serve()


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
