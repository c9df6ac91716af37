"""Lesson 05's app, and the sessions a busy production database always has, for the grader.

Two releases of the app run in threads while a revision runs, each thread on its own autocommit
connection, as a real app's requests would:

- v1, today's release, reads and writes `email`;
- v2, the next release, reads and writes `email_address` only.

Each version updates its own rows (nobody else touches them) and remembers what it wrote (the
ledger), so the grader can check afterwards that the other version would read the same value.
`HeldLock` is a session that keeps a transaction open on `users`: a long read (it ran a SELECT and
went idle, holding ACCESS SHARE) or a slow write (ROW EXCLUSIVE). `LockWatch` samples `pg_locks`
while a revision runs, so a message can name the statement that waited and the lock it wanted.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from course_db.graders.kit.workload import AppThread, Op, failed_queries, running
from course_db.inspection import scalar
from course_db.report import Result

POOL = 20_000  # fixture rows each version updates: v1 ids 1..20000, v2 ids 50001..70000
LONG_READ_SQL = "SELECT count(*) FROM users WHERE id <= 10"
SLOW_WRITE_SQL = "UPDATE users SET name = name WHERE id = 100000"
EXAMPLES = 3


@dataclass(frozen=True)
class Version:
    name: str
    column: str
    first_id: int

    def sql(self, kind: str) -> str:
        """This version's query of `kind` (read, insert or update)."""
        if kind == "read" and self.column == "email":
            return "SELECT email FROM users WHERE id = %s"
        if kind == "read":
            return "SELECT id FROM users WHERE email_address = %s"
        if kind == "insert":
            return f"INSERT INTO users ({self.column}, name) VALUES (%s, %s) RETURNING id"
        return f"UPDATE users SET {self.column} = %s WHERE id = %s"


V1 = Version("v1", "email", 1)
V2 = Version("v2", "email_address", 50_001)
VERSIONS = {version.name: version for version in (V1, V2)}


def fixture_email(user_id: int) -> str:
    return f"user{user_id}@example.com"


@dataclass
class VersionLedger:
    """What one version wrote: {user id: email}, and the next values it will use."""

    version: Version
    written: dict[int, str] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    next_update: int = 0

    def new_email(self) -> str:
        return f"{self.version.name}-{next(self.counter)}@example.com"

    def update_target(self) -> int:
        user_id = self.version.first_id + self.next_update % POOL
        self.next_update += 1
        return user_id

    def expected(self, user_id: int) -> str:
        return self.written.get(user_id, fixture_email(user_id))


class VersionThread(AppThread[VersionLedger]):
    """One version of the app, with its ledger: the kit's loop, with this lesson's queries."""

    def read(self, sql: str) -> str:
        version, ledger = self.ledger.version, self.ledger
        user_id = version.first_id + (ledger.next_update * 7) % POOL
        expected = ledger.expected(user_id)
        if version.column == "email":
            row = self.conn.execute(sql, (user_id,)).fetchone()
            got = row[0] if row else None
            if got != expected:
                return f"read email = {got!r} for user {user_id}, expected {expected!r}"
            return ""
        found = [row[0] for row in self.conn.execute(sql, (expected,)).fetchall()]
        if user_id not in found:
            return f"found no user with email_address = {expected!r} (user {user_id})"
        return ""

    def insert(self, sql: str) -> str:
        email = self.ledger.new_email()
        self.ledger.written[scalar(self.conn, sql, (email, f"New user {email}"))] = email
        return ""

    def update(self, sql: str) -> str:
        email, user_id = self.ledger.new_email(), self.ledger.update_target()
        self.conn.execute(sql, (email, user_id))
        self.ledger.written[user_id] = email
        return ""


class EmailRenameVersions:
    """The app's two versions through the email -> email_address rename: both ledgers for a whole
    check, and the threads of the versions running now (v1, v2, or both side by side: each
    step's `apps`)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.ledgers = {name: VersionLedger(version) for name, version in VERSIONS.items()}
        self.pids: set[int] = set()

    @contextlib.contextmanager
    def running(self, versions: tuple[str, ...]) -> Iterator[list[Op]]:
        """Run these versions in threads for the duration of the block; yield their query log."""
        ops: list[Op] = []
        stop = threading.Event()
        threads = [VersionThread(self.dsn, self.ledgers[name], ops, stop) for name in versions]
        self.pids = {thread.pid for thread in threads}
        with running(threads, stop):
            yield ops

    def mismatches(self, conn: psycopg.Connection, columns: set[str]) -> list[str]:
        """Rows the app wrote that do not read back, in every email column, what was written."""
        names = [name for name in ("email", "email_address") if name in columns]
        found = []
        for ledger in self.ledgers.values():
            if not ledger.written or not names:
                continue
            rows = conn.execute(
                f"SELECT id, {', '.join(names)} FROM users WHERE id = ANY(%s) ORDER BY id",
                (list(ledger.written),),
            ).fetchall()
            for user_id, *values in rows:
                wrote = ledger.written[user_id]
                if any(value != wrote for value in values):
                    got = ", ".join(
                        f"{name} = {value!r}" for name, value in zip(names, values, strict=True)
                    )
                    found.append(
                        f"{ledger.version.name} set {ledger.version.column} = {wrote!r} "
                        f"for user {user_id}; it reads back {got}"
                    )
        return found


class HeldLock:
    """A session that ran `sql` in a transaction and keeps it open until released or `hold` s."""

    def __init__(self, dsn: str, sql: str, hold: float) -> None:
        self.conn = psycopg.connect(dsn)
        self.pid = self.conn.info.backend_pid
        self.conn.execute(sql)
        self.released_at: float | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(hold, self.release)
        self._timer.daemon = True
        self._timer.start()

    def release(self) -> None:
        with self._lock:
            if self.released_at is None:
                self.conn.rollback()
                self.released_at = time.monotonic()

    def close(self) -> None:
        self._timer.cancel()
        self.release()
        self.conn.close()


WATCH_SQL = """
SELECT l.locktype, l.mode, l.granted, left(regexp_replace(a.query, '\\s+', ' ', 'g'), 160)
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE a.datname = current_database() AND NOT (a.pid = ANY(%s))
  AND (l.relation = to_regclass('public.users') OR NOT l.granted)
"""


class LockWatch(threading.Thread):
    """Samples the locks of sessions that are not the grader's (the migration's), every 50 ms."""

    def __init__(self, dsn: str, ours: set[int]) -> None:
        super().__init__(daemon=True, name="lock-watch")
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.ours = [*ours, self.conn.info.backend_pid]
        self.seen: dict[tuple[str, str, bool], str] = {}  # (locktype, mode, granted) -> query
        self._done = threading.Event()
        self.start()

    def run(self) -> None:
        try:
            while not self._done.is_set():
                for locktype, mode, granted, query in self.conn.execute(
                    WATCH_SQL, (self.ours,)
                ).fetchall():
                    self.seen.setdefault((locktype, mode, granted), query)
                self._done.wait(0.05)
        except psycopg.Error:
            pass
        finally:
            self.conn.close()

    def finish(self) -> None:
        self._done.set()
        self.join(timeout=10)

    def waited(self) -> list[tuple[str, str, str]]:
        """[(locktype, mode, query)] the migration waited for."""
        return [
            (kind, mode, query) for (kind, mode, granted), query in self.seen.items() if not granted
        ]

    def held(self, mode: str) -> str:
        """The query that held (or waited for) `mode` on users, or ''."""
        for (kind, seen_mode, _granted), query in self.seen.items():
            if kind == "relation" and seen_mode == mode:
                return query
        return ""


APP_NAME = "v1 and v2 run without errors in every step, and each reads what the other wrote"
ADVICE = (
    (
        'column "email" does not exist',
        1,
        "v1 still uses email while 0001-0003 run: add email_address next to it (expand); "
        "email is dropped only in 0006_contract.",
    ),
    (
        'has no field "email"',
        5,
        "the sync trigger still runs after email is gone: drop the trigger and its function "
        "before the column.",
    ),
    ('column "email_address" does not exist', 1, "v2 needs email_address from 0003 on."),
    (
        "violates check constraint",
        1,
        "a write left email_address NULL: the trigger must fill whichever column the app did "
        "not write.",
    ),
    (
        "found no user with email_address",
        2,
        "v2 looks users up by email_address: every user needs one (the backfill for old rows, "
        "the trigger for new writes).",
    ),
)
SYNC_ADVICE = (
    "The trigger must copy in both directions: on INSERT, fill the column the app left NULL; "
    "on UPDATE, copy the column that changed into the other. `NEW.email_address := NEW.email` "
    "alone overwrites every write v2 makes."
)


def app_result(steps: list[tuple[str, tuple[str, ...], int, list[Op], list[str]]]) -> Result:
    """One result for the app: [(revision, releases running, task, their queries, mismatches)]."""
    lines: list[str] = []
    tasks: list[int] = []
    advice: list[str] = []
    for revision, apps, step_task, ops, mismatches in steps:
        failed, examples, errors = failed_queries(ops, EXAMPLES if not lines else 1)
        if failed:
            tasks.append(step_task)
            lines.append(
                f"During {revision} ({' and '.join(apps)} running): {failed} of "
                f"{len(ops)} queries failed, e.g.:"
            )
            lines.extend(examples)
            for error in errors:
                for pattern, task, text in ADVICE:
                    if pattern in error and text not in advice:
                        advice.append(text)
                        tasks.append(task)
        if mismatches and SYNC_ADVICE not in advice:  # the same rows stay wrong later
            tasks.append(1)
            lines.append(
                f"After {revision}, {len(mismatches)} rows the app wrote do not read "
                "back what was written, e.g.:"
            )
            lines.extend(f"  {text}" for text in mismatches[:EXAMPLES])
            advice.append(SYNC_ADVICE)
    lines.extend(f"Fix: {text}" for text in advice)
    return Result(min(tasks, default=1), APP_NAME, not lines, "\n".join(lines))
