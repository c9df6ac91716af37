"""Workshop tests' helpers: a throwaway class on the PostgreSQL service, and learners' shells.

Every class a test makes has a random name (`course_t<hex>`), so parallel workers and other test
runs on the same server never meet, and `workshop.end` drops all of it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from course_db import roles, workshop
from course_db.errors import SetupError
from course_db.paths import ROOT
from course_db.server import Server, get_server

needs_service = pytest.mark.skipif(
    not os.environ.get("COURSE_DATABASE_URL"),
    reason="workshops need a shared PostgreSQL server: set COURSE_DATABASE_URL (CI's second run "
    "does, with the PostgreSQL 15 service); the embedded server has a single user",
)

# What a learner's shell never has: the instructor's URL, or the test run's own settings.
NOT_INHERITED = (
    "COURSE_DATABASE_URL",
    "COURSE_DB_PREFIX",
    "COURSE_SOURCE",
    "COURSE_LEARNER",
    "COURSE_TEST_BASE_PREFIX",
    "COURSE_WORKSHOP",
    "DATABASE_URL",
)


@dataclass
class Class:
    """A workshop made for one test module: its name, admin server and learners' URLs."""

    name: str
    server: Server
    urls: dict[str, str]

    @property
    def group(self) -> str:
        return roles.group_role(self.name)

    def role(self, learner: str) -> str:
        return roles.learner_role(self.group, learner)

    def admin_sql(self, query: str, params: tuple = (), dbname: str | None = None) -> list[tuple]:
        with psycopg.connect(**self.server.conninfo(dbname), autocommit=True) as conn:  # type: ignore[arg-type]
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def leftovers(self, learner: str, wait: float = 20.0) -> list[str]:
        """The learner's check databases still there after `wait` s (`course check` drops its
        databases in a detached process after answering)."""
        deadline = time.monotonic() + wait
        while True:
            names = [
                row[0]
                for row in self.admin_sql(
                    "SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = %s "
                    "AND datname LIKE '%%\\_check\\_%%'",
                    (self.role(learner),),
                )
            ]
            if not names or time.monotonic() > deadline:
                return names
            time.sleep(0.5)


def learner_env(url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NOT_INHERITED}
    env.update(COURSE_DATABASE_URL=url, PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def course(url: str, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    """`course ARGS` in a fresh interpreter whose only server URL is `url` (a learner's shell)."""
    return subprocess.run(
        [sys.executable, "-m", "course_db.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=learner_env(url, **extra),
    )


def new_class_name() -> str:
    return "t" + secrets.token_hex(4)


@contextlib.contextmanager
def a_class(learners: list[str]) -> Iterator[Class]:
    """A fresh workshop with `learners`, ended (roles, databases, files) afterwards."""
    server = get_server()
    name = new_class_name()
    try:
        lines = workshop.init(server, name, learners)
        yield Class(name, server, {line.name: line.url for line in lines})
    finally:
        try:
            with contextlib.suppress(SetupError):  # the test may have ended it already
                workshop.end(server, name)
        finally:
            shutil.rmtree(workshop.join_file(name).parent, ignore_errors=True)
