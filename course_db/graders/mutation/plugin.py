"""The course's pytest plugin for the learner's migration tests: a fresh database for every test.

Loaded with `-p course_db.graders.mutation.plugin` by `harness.py` (the mutation harness and the
notebook's `run_pytest`), never by the course's own test suite. It reads its settings from the
environment the harness sets:

- `COURSE_TEST_SERVER`: the `Server` (JSON) whose maintenance database creates and drops;
- `COURSE_TEST_TEMPLATE`: the database each test's database is cloned from (empty or seeded);
- `COURSE_TEST_DB_STEM`: the name stem of this run's databases (the course's prefix, so the
  harness, and the test suite's clean-up, can drop whatever a killed run left behind).

Every test gets its own database (`database_url`), and `DATABASE_URL` points at it while the
test runs, so the seed's style (`command.upgrade(Config("alembic.ini"), "head")`) and
pytest-alembic (`alembic_config`, `alembic_engine`) migrate the same, fresh database. Cloning
costs 60-200 ms on some disks, so the next test's database is cloned in a background thread while
the current test runs.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from course_db import databases
from course_db.errors import SetupError
from course_db.processes import pid_alive
from course_db.server import Server


class DatabasePool:
    """Hands out fresh databases, one cloned ahead in a background thread."""

    def __init__(self, server: Server, template: str, stem: str) -> None:
        self.server, self.template, self.stem = server, template, stem
        self._numbers = itertools.count(1)
        self._next: tuple[threading.Thread, dict[str, Any]] | None = None
        self._drops: list[threading.Thread] = []
        self.remaining = 1  # until collection says how many tests there are
        self.prefetch()

    def prefetch(self) -> None:
        box: dict[str, Any] = {}
        thread = threading.Thread(target=self._clone, args=(box,), daemon=True)
        thread.start()
        self._next = (thread, box)

    def _clone(self, box: dict[str, Any]) -> None:
        name = f"{self.stem}_{next(self._numbers)}"
        try:
            box["url"] = databases.clone(self.server, self.template, name)
            box["name"] = name
        except BaseException as exc:  # reported in the test that asked for it
            box["error"] = exc

    def take(self) -> tuple[str, str]:
        if self._next is None:  # more tests than counted (a plugin added some): clone now
            self.prefetch()
        assert self._next is not None
        thread, box = self._next
        thread.join()
        self._next = None
        self.remaining -= 1
        if self.remaining > 0:  # no clone for a test that will never run
            self.prefetch()
        if "error" in box:
            raise box["error"]
        return box["name"], box["url"]

    def drop(self, name: str) -> None:
        """Drop a used database in the background: the next test need not wait for it."""
        thread = threading.Thread(
            target=databases.drop_database, args=(self.server, name), daemon=True
        )
        thread.start()
        self._drops.append(thread)

    def close(self) -> None:
        """Wait for the drops (the harness drops whatever a killed run leaves behind)."""
        for thread in self._drops:
            thread.join()
        if self._next is not None:
            thread, box = self._next
            thread.join()
            if "name" in box:
                databases.drop_database(self.server, box["name"])


def _settings() -> DatabasePool | None:
    raw = os.environ.get("COURSE_TEST_SERVER")
    if not raw:
        return None
    return DatabasePool(
        Server(**json.loads(raw)),
        os.environ["COURSE_TEST_TEMPLATE"],
        os.environ["COURSE_TEST_DB_STEM"],
    )


_pool: DatabasePool | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Start cloning the first test's database while pytest collects the tests."""
    global _pool
    _pool = _settings()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if _pool is not None:
        _pool.remaining = len(items)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _pool is not None:
        _pool.close()


@pytest.fixture
def database_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh database for this test only; `DATABASE_URL` points at it while the test runs."""
    if _pool is None:
        raise RuntimeError("run these tests through the course (check(), run_pytest)")
    name, url = _pool.take()
    monkeypatch.setenv("DATABASE_URL", url)
    try:
        yield url
    finally:
        _pool.drop(name)


@pytest.fixture(autouse=True)
def _fresh_database_for_every_test(database_url: str) -> str:
    """Even a test that asks for no fixture migrates its own database, never another test's."""
    return database_url


@pytest.fixture
def alembic_config() -> dict[str, Any]:
    """pytest-alembic's configuration: the project's own alembic.ini (the working directory)."""
    return {"file": "alembic.ini"}


@pytest.fixture
def alembic_engine(database_url: str) -> Iterator[Engine]:
    """pytest-alembic's database: this test's fresh database.

    Pooled: pytest-alembic connects once per step, and a new PostgreSQL session costs a process
    start on the server (about 150 of them in a typical test file without a pool).
    """
    engine = create_engine(database_url, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


# Housekeeping, run by the harness (never inside a test run): the names above are `<stem>_<n>`.


def drop_run_databases(server: Server, stem: str) -> None:
    """Drop every database of one run (its tests may have been killed mid-way)."""
    _drop_matching(server, re.compile(re.escape(stem) + r"\d*_\d+$"), stale_only=False)


def drop_stale_runs(server: Server, lesson: str) -> None:
    """Drop the databases of earlier runs whose process is gone (a check killed at its limit)."""
    stem = re.escape(databases.db_name(lesson, ""))
    drop_stale(server, re.compile(stem + r"[mp](?P<pid>\d+)x\d+_\d+$"))


def drop_stale(server: Server, pattern: re.Pattern[str]) -> None:
    """Drop the databases whose name matches `pattern` and whose `pid` group's process is gone,
    or is this one: called before this process names any database of its own, a name with its
    pid was left by an earlier process that had the same pid (pids wrap)."""
    _drop_matching(server, pattern, stale_only=True)


def _drop_matching(server: Server, pattern: re.Pattern[str], stale_only: bool) -> None:
    """Drop the databases whose whole name matches `pattern`, the names this plugin gives.

    By name, not by the course's marker comment: a run killed between `CREATE DATABASE` and
    `COMMENT ON DATABASE` leaves one without it. The name carries this checkout's prefix, so it
    is ours all the same.
    """
    try:
        with databases.admin(server) as conn:
            names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
            for name in names:
                found = pattern.match(name)
                if not found or (stale_only and _another_lives(int(found.group("pid")))):
                    continue
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
    except (SetupError, psycopg.Error):
        return  # the next run tries again


def _another_lives(pid: int) -> bool:
    """Whether `pid` is a live process other than this one (see `drop_stale`)."""
    return pid != os.getpid() and pid_alive(pid)
