"""An app's release at work while a revision runs: the workload lessons 05 and 10 grade under.

A release runs in a thread on its own autocommit connection, as a real app's requests would:
read, insert, update, again and again, a short pause between two queries, until told to stop.
Every query is logged with its timing and the error it met, so a grader can say which query of
which release failed during which revision, and how long the writes waited. What the queries are,
and what a release remembers of its writes to check them later, is each lesson's own.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import psycopg

PAUSE = 0.02  # seconds between two queries of one app thread
KINDS = ("read", "insert", "update")


@dataclass(frozen=True)
class Op:
    """One query of the app: which release, what it ran, when, and what went wrong (if anything)."""

    app: str
    sql: str
    start: float
    end: float
    error: str = ""

    @property
    def wait(self) -> float:
        return self.end - self.start

    @property
    def is_write(self) -> bool:
        return not self.sql.startswith("SELECT")


def error_text(exc: BaseException) -> str:
    """What the server said (its primary message), else the exception's first line."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    return primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class AppVersion(Protocol):
    """One version of a lesson's app (05: a Version, 10: a Release): its name, and its queries
    as the exercise's README has them."""

    @property
    def name(self) -> str: ...

    def sql(self, kind: str) -> str:
        """The query of `kind` (read, insert or update); for a write of several, the first."""
        ...


class Ledger(Protocol):
    """What a release wrote, kept by the lesson so that it can check the writes afterwards."""

    @property
    def version(self) -> AppVersion: ...


L = TypeVar("L", bound=Ledger)


class AppThread(threading.Thread, Generic[L]):
    """One release of the app: read, insert, update, again and again, until `stop` is set.

    A subclass runs each query (`read`, `insert`, `update`), keeping what it wrote in its
    `ledger`, and returns '' or what went wrong; a database error is logged as the server's
    message.
    """

    def __init__(self, dsn: str, ledger: L, ops: list[Op], stop: threading.Event) -> None:
        self.ledger = ledger
        self.release = ledger.version.name
        super().__init__(daemon=True, name=f"app-{self.release}")
        self.ops, self.stop = ops, stop
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.pid = self.conn.info.backend_pid

    def run(self) -> None:
        actions = {"read": self.read, "insert": self.insert, "update": self.update}
        try:
            for step in itertools.count():
                if self.stop.is_set():
                    break
                kind = KINDS[step % len(KINDS)]
                sql = self.ledger.version.sql(kind)
                start = time.monotonic()
                try:
                    error = actions[kind](sql)
                except psycopg.Error as exc:
                    error = error_text(exc)
                self.ops.append(Op(self.release, sql, start, time.monotonic(), error))
                self.stop.wait(PAUSE)
        finally:
            self.conn.close()

    def read(self, sql: str) -> str:
        raise NotImplementedError

    def insert(self, sql: str) -> str:
        raise NotImplementedError

    def update(self, sql: str) -> str:
        raise NotImplementedError


def failed_queries(ops: Sequence[Op], shown: int) -> tuple[int, list[str], list[str]]:
    """The app's failed queries in one step, for a message: (how many, examples, errors).

    The examples are the `shown` most common failing queries, one line each,
    `  v1: `SQL` -> error (12x)`; the errors each distinct error, most common first, for the
    lesson to look its advice up by.
    """
    counted = Counter((op.app, op.sql, op.error) for op in ops if op.error)
    examples = [
        f"  {app}: `{sql}` -> {error} ({times}x)"
        for (app, sql, error), times in counted.most_common(shown)
    ]
    return counted.total(), examples, [error for (_, _, error), _ in counted.most_common()]


@contextlib.contextmanager
def running(threads: Sequence[AppThread[L]], stop: threading.Event) -> Iterator[None]:
    """Start `threads` for the duration of the block; then stop them and wait for each."""
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
