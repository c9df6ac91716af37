"""Lesson 10's task 5: the learner's tests, run by lesson 06's mutation harness on their own chain
and on broken variants of it (`variants.py`).

The harness forks one pytest per history. It runs here in a helper process forked at the start of
the check, before the grader opens a connection or starts a thread: a process forked later would
inherit the grader's open database connections and a redirected `sys.stdout`. The helper answers
through a pipe, as JSON, while the grader runs the workload; the results are built afterwards,
when the grader knows whether the chain itself works (failing tests are right on a broken one).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_db import databases
from course_db.graders.lesson10 import variants
from course_db.graders.mutation.harness import (
    History,
    HistoryRun,
    broken_result,
    good_result,
    run_tests_against,
)
from course_db.isolation import scratch_dir
from course_db.paths import ROOT
from course_db.processes import read_until_closed, start_forked
from course_db.report import Result
from course_db.server import get_server

TASK = 5
FIXTURE = ROOT / "course_db" / "fixtures" / "10_capstone.sql"
RUN_TIMEOUT = 20.0  # one pytest run on one history (the course's limit)
OWN_CHAIN = "Your tests pass on your own chain"
VARIANTS = "Your tests fail on each broken variant of your chain"


def test_files(project: Path) -> list[Path]:
    folder = project / "tests"
    if not folder.is_dir():
        return []
    return sorted([*folder.rglob("test_*.py"), *folder.rglob("*_test.py")])


@dataclass
class Pending:
    """The helper process that runs the harness, and the pipe it answers on."""

    pid: int
    fd: int

    def results(self, wait: float, chain_works: bool) -> list[Result]:
        """Task 5's two results, or one that says why there are none."""
        chunks: list[bytes] = []
        if not read_until_closed({self.fd: chunks.append}, time.monotonic() + wait):
            self.kill()
            message = (
                f"Your tests did not finish within {wait:.0f} s on your chain and its "
                "variants: look for a test that waits forever (a lock, an endless loop)."
            )
            return [Result(TASK, OWN_CHAIN, False, message)]
        os.close(self.fd)
        os.waitpid(self.pid, 0)
        payload = json.loads(b"".join(chunks) or b"{}")
        if "error" in payload:
            return [Result(TASK, OWN_CHAIN, False, payload["error"])]
        runs = [
            HistoryRun(History(item["name"], Path(), item["should_pass"]), *item["run"])
            for item in payload["runs"]
        ]
        return [own_chain_result(runs, chain_works), broken_result(TASK, runs, VARIANTS)]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.close(self.fd)
        os.waitpid(self.pid, 0)


def task_results(found: list[Result], project: Path) -> list[Result]:
    """Task 5's two rows. A test that fails everywhere "catches" every variant, so the variants
    row passes only once the tests pass on the learner's own chain."""
    own = next(result for result in found if result.name == OWN_CHAIN)
    variants = next((result for result in found if result.name == VARIANTS), None)
    if own.passed and variants is not None:
        return [own, variants]
    if not_written(project):
        message = (
            "The tests of task 5 are not written yet (tests/test_chain.py still has its "
            "`# TODO:`). Write tests that fail when 0002_backfill leaves a display_name NULL, "
            "when 0003_contract's downgrade loses phones, and when name or phone are gone "
            "before 0003_contract (README, task 5)."
        )
    else:
        message = (
            "Not checked: your tests must pass on your own chain first (the result above); a "
            "test that fails on every chain would catch every variant."
        )
    return [own, Result(TASK, VARIANTS, False, message)]


def not_written(project: Path) -> bool:
    """The starter's tests, still: a test file keeps task 5's `# TODO:` (or there is none)."""
    files = test_files(project)
    return not files or any(
        "# TODO:" in path.read_text(encoding="utf-8", errors="replace") for path in files
    )


def own_chain_result(runs: list[HistoryRun], chain_works: bool) -> Result:
    """Lesson 06's wording, unless the learner's chain is broken: then failing tests are right."""
    result = good_result(TASK, runs, OWN_CHAIN)
    if result.passed or chain_works:
        return result
    summary = next(run.summary for run in runs if run.history.should_pass)
    message = (
        "Your tests fail on your own chain, which is right while tasks 1-4 fail: fix those "
        f"first, then run the check again. pytest said:\n{summary}"
    )
    return Result(TASK, OWN_CHAIN, False, message)


def start(project: Path) -> Pending:
    """Fork the helper; it runs the learner's tests on every history and writes the runs.

    It stays in the check's process group: the check's time limit ends it and its pytest runs.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return Pending(pid, read_end)
    os.close(read_end)
    start_forked()
    payload: dict[str, object]
    try:
        payload = {"runs": run(project)}
    except BaseException as exc:  # a course problem, reported as such
        payload = {"error": f"The check could not run your tests: {type(exc).__name__}: {exc}"}
    os.write(write_end, json.dumps(payload).encode())
    os.close(write_end)
    os._exit(0)


def run(project: Path) -> list[dict[str, Any]]:
    server = get_server()
    template = databases.ensure_template(server, "10", FIXTURE)
    with scratch_dir("variants") as tmp:
        histories = variants.histories(project, Path(tmp))
        runs = run_tests_against(
            project / "tests", histories, server, template, RUN_TIMEOUT, lesson="10"
        )
    return [
        {
            "name": item.history.name,
            "should_pass": item.history.should_pass,
            "run": [item.passed, item.summary, item.timed_out],
        }
        for item in runs
    ]
