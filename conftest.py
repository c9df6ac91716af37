"""Test-wide setup: grade the solutions, give every run and xdist worker its own database prefix.

The prefix is `course_<this checkout's prefix>_t_<worker>`, so tests never touch a learner's
databases, two workers never touch each other's, and everything a run created is dropped at its end.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
import time
from pathlib import Path

import psycopg
import pytest

from course_db import databases, progress
from course_db.errors import SetupError
from course_db.paths import ROOT
from course_db.server import get_server

# xdist workers inherit the controller's environment, override included: compute the base once.
# A random part per run keeps two test runs in one checkout from dropping each other's databases.
if "COURSE_TEST_BASE_PREFIX" not in os.environ:
    checkout = databases.prefix().removeprefix("course_")
    os.environ["COURSE_TEST_BASE_PREFIX"] = f"{checkout}_{secrets.token_hex(2)}"
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_base = os.environ["COURSE_TEST_BASE_PREFIX"][: 30 - len(f"course__t_{_worker}")]
os.environ["COURSE_DB_PREFIX"] = f"course_{_base}_t_{_worker}"
os.environ["COURSE_SOURCE"] = "solutions"
os.environ.pop("DATABASE_URL", None)


def pytest_configure(config: pytest.Config) -> None:
    """Notebooks run strictly on the embedded server, lax on an external one (outputs differ)."""
    option = config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        if os.environ.get("COURSE_DATABASE_URL"):
            option.nbval_lax = True
        else:
            option.nbval = True
    sanitize = ROOT / "notebooks" / "sanitize.cfg"
    given = getattr(option, "nbval_sanitize_with", None) or getattr(option, "sanitize_with", None)
    if sanitize.is_file() and not given:
        option.nbval_sanitize_with = str(sanitize)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep on one xdist worker what must run there in order; spread every other test.

    `--dist loadgroup` (pyproject) sends each test to whichever worker is free, except tests of
    one `xdist_group`, which run on one worker in collection order. Grouped here: a notebook's
    cells (nbval runs them in order in one kernel) and a module's tests that share a
    module-scoped fixture (a class of learners, a JupyterHub, a private server: built once, not
    once per worker). xdist starts the groups with the most tests first.
    """
    for item in items:
        if item.nodeid.startswith("notebooks/"):
            item.add_marker(pytest.mark.xdist_group(item.path.name))
            continue
        fixtures = getattr(item, "_fixtureinfo", None)
        definitions = fixtures.name2fixturedefs.values() if fixtures else []
        if any(d.scope == "module" for defs in definitions for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.path.name))


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` (pyproject): one xdist worker per core this process may use, plus one.

    The extra worker keeps the cores busy while some tests wait (a check's time limit, a lock
    held on purpose, a database that comes up late). Measured on fresh clones of a 2-core
    machine: the embedded pass took 4:37 with 2 workers, 3:58 with 3 and 4:07 with 4.
    `PYTEST_XDIST_AUTO_NUM_WORKERS` still wins (xdist's own hook reads it).
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection built stays for the whole run: leave it out of garbage collection.

    Every full collection would walk it again (a worker's heap holds every collected test), and
    every check forked from a worker would copy the pages such a walk writes to.
    """
    gc.freeze()


def wait_for_tidying(prefix: str, patience: float = 30.0) -> None:
    """Wait for the detached clean-ups of this prefix's `course check`s (`python -m
    course_db.runner`, `Spares.tidy_in_background`): one still preparing a spare would create it
    after the drop (one lesson-01 spare was left on the service that way)."""
    deadline = time.monotonic() + patience
    wanted = f"COURSE_DB_PREFIX={prefix}".encode()
    while time.monotonic() < deadline:
        running = []
        for proc in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                tidying = b"course_db.runner" in (proc / "cmdline").read_bytes()
                if tidying and wanted in (proc / "environ").read_bytes().split(b"\0"):
                    running.append(proc)
        if not running:
            return
        time.sleep(0.1)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop every database of this run's prefix (in each worker; the xdist controller runs none)."""
    config = session.config
    controller = bool(getattr(config.option, "numprocesses", None)) and not hasattr(
        config, "workerinput"
    )
    if controller or config.option.collectonly or not session.testscollected:
        return
    with contextlib.suppress(SetupError):
        server = get_server()
        for name in databases.course_databases(server):
            databases.drop_database(server, name)
        wait_for_tidying(databases.prefix())
        for name in databases.course_databases(server):
            databases.drop_database(server, name)
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(**server.conninfo(progress.PROGRESS_DB), autocommit=True) as conn,  # type: ignore[arg-type]
        ):
            for table in ("progress", "hints_seen"):  # hints_seen: absent before the first hint
                with contextlib.suppress(psycopg.errors.UndefinedTable):
                    conn.execute(f"DELETE FROM {table} WHERE prefix = %s", (databases.prefix(),))  # type: ignore[arg-type]
