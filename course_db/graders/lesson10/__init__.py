"""Lesson 10's grader: the capstone's expand/backfill/contract chain, its tests, its deploy order.

Runs in the isolated child, with the learner's project copied to `root` (its working
directory) and `databases.url` a fresh copy of the lesson's template: 1,000 customers, no revision.

  tests      (task 5) forked first: lesson 06's harness runs the learner's tests on their chain
             and on three broken variants of it (`learner_tests.py`), while the rest goes on
  squawk     (task 6) over each revision's offline SQL, course settings (`squawk.toml`)
  row by row (tasks 1-3) on a second fresh copy: each revision alone, what it changed compared
             with every customer's row before (`steps.py`)
  round trip (task 4) `downgrade base` there: schema and every table's checksum as at the start
  workload   (tasks 1-3) on `databases.url`: each revision deployed while the release that must
             survive it runs (`app.py`): v1 across 0001, v2 across 0002, v3 across 0003
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import psycopg

from course_db.databases import clone, db_name, drop_database, ensure_template
from course_db.graders.kit.revisions import chain_gate
from course_db.graders.kit.squawk import LINT_NAME, lint_result, offline_sql, run_squawk
from course_db.graders.kit.workload import Op
from course_db.graders.lesson10 import learner_tests
from course_db.graders.lesson10.app import APP_NAME, CustomerAppReleases, app_result
from course_db.graders.lesson10.steps import ROUND_TRIP, STEPS, StepSpec, fixture_rows, grade_steps
from course_db.graders.mutation.plugin import drop_stale
from course_db.inprocess import Step, alembic
from course_db.lesson_databases import Databases
from course_db.report import Result
from course_db.server import Server, get_server

SQUAWK = Path(__file__).with_name("squawk.toml")
LEAD = 0.15  # each release runs this long before its revision (against the schema before it)
TAIL = 0.15  # ...and this long after it, and until it ran a whole cycle on the new schema:
CYCLE = 3  # read, insert, update (a busy machine must not let a release skip the new schema)
SETTLE_LIMIT = 3.0  # seconds at most for that cycle
RETRIES = 3
TESTS_WAIT = 40.0
README_RUNS_SQUAWK = "the README shows how to run it yourself"
# In the README's order, task by task; the releases' row is task 1's, whichever revision broke it.
TASKS = [
    (STEPS[0].task, STEPS[0].name),
    (1, APP_NAME),
    *((step.task, step.name) for step in STEPS[1:]),
    (4, ROUND_TRIP),
    (learner_tests.TASK, learner_tests.OWN_CHAIN),
    (learner_tests.TASK, learner_tests.VARIANTS),
    (6, LINT_NAME),
]


def grade(root: Path, databases: Databases) -> list[Result]:
    database_url = databases.url
    gate = chain_gate(root, [step.revision for step in STEPS], TASKS)
    if gate is not None:
        return gate
    scripts, sql_error = offline_sql(root)
    tests = learner_tests.start(root) if learner_tests.test_files(root) else None
    lint: dict[str, object] = {}
    linter = threading.Thread(target=lambda: lint.update(run_squawk(scripts, SQUAWK)))
    if scripts:
        linter.start()  # squawk reads the SQL while the revisions run
    results = _row_by_row(root, database_url)
    os.environ["DATABASE_URL"] = database_url
    results.append(_workload(root, database_url))
    if scripts:
        linter.join()
    results.append(lint_result(6, root, scripts, sql_error, lint, how_to_run=README_RUNS_SQUAWK))
    chain_works = all(result.passed for result in results if result.task <= 4)
    own = tests.results(TESTS_WAIT, chain_works) if tests else [_no_tests()]
    results += learner_tests.task_results(own, root)
    return results


def _row_by_row(root: Path, database_url: str) -> list[Result]:
    """Tasks 1-4 on a second fresh copy of the template, with nothing else running."""
    server = get_server()
    drop_stale_copies(server)
    name = db_name("10", f"rows_{os.getpid()}")
    template = ensure_template(server, "10", learner_tests.FIXTURE)
    url = clone(server, template, name)
    os.environ["DATABASE_URL"] = url
    try:
        with psycopg.connect(_dsn(url), autocommit=True) as conn:
            conn.prepare_threshold = None  # the schema changes under it
            return grade_steps(root, conn)
    finally:
        drop_database(server, name)


def drop_stale_copies(server: Server) -> None:
    """Drop the second copies of checks that were stopped at their time limit (pid gone)."""
    stem = re.escape(db_name("10", "rows_"))
    drop_stale(server, re.compile(stem + r"(?P<pid>\d+)$"))


def _workload(root: Path, database_url: str) -> Result:
    """Deploy the chain revision by revision while the release that must survive it runs."""
    dsn = _dsn(database_url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.prepare_threshold = None
        releases = CustomerAppReleases(dsn, fixture_rows(conn))
        logged: list[tuple[str, int, str, list[Op]]] = []
        failed: tuple[StepSpec, Step] | None = None
        for step in STEPS:
            with releases.running(step.release) as ops:
                time.sleep(LEAD)
                ran = _deploy(root, step.revision)
                _settle(ops, since=time.monotonic())
            logged.append((step.revision, step.task, step.release, ops))
            if not ran.ok:
                failed = (step, ran)
                break
        result = app_result(logged, [] if failed else releases.mismatches(conn))
    if failed is None:
        return result
    step, ran = failed
    message = (
        f"While {step.release} ran, {ran.explain()}\nThe later revisions were not deployed."
        + (f"\n{result.message}" if result.message else "")
    )
    return Result(step.task, result.name, False, message)


def _settle(ops: list[Op], since: float) -> None:
    """Keep the release running for TAIL, and until it ran a whole cycle since `since`."""
    time.sleep(TAIL)
    while time.monotonic() < since + SETTLE_LIMIT and sum(op.start >= since for op in ops) < CYCLE:
        time.sleep(0.02)


def _deploy(root: Path, revision: str) -> Step:
    """`alembic upgrade <revision>`, again if it gave up on a lock (its lock_timeout)."""
    for _ in range(RETRIES):
        ran = alembic(root, "upgrade", revision)
        if ran.ok or "lock timeout" not in ran.error:
            return ran
        time.sleep(0.1)
    return ran


def _no_tests() -> Result:
    return Result(
        learner_tests.TASK,
        learner_tests.OWN_CHAIN,
        False,
        "tests/ has no test file (test_*.py): write your tests in tests/test_chain.py.",
    )


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
