"""Lesson 10's app: three releases that run, one at a time, while the capstone's chain deploys.

Expand/contract through the app, no trigger: the releases themselves bridge the change.

- v1, today's release, reads and writes `customers.name` and `customers.phone`;
- v2, the transition release, still reads the old columns but writes both the old and the new
  places (`display_name`, a `customer_phones` row);
- v3, the next release, reads and writes only `display_name` and `customer_phones`.

Each release runs in a thread (the kit's `AppThread` loop: read, insert, update, again), on its
own autocommit connection, updating only its own slice of the fixture's customers, and keeps a
ledger of what it wrote, so the grader can check at the end that every write reads back in the
new places. The queries are exactly those of the exercise's README.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from course_db.graders.kit.workload import AppThread, Op, error_text, failed_queries, running
from course_db.inspection import scalar
from course_db.report import Result

POOL = 200  # fixture customers each release updates: v1 17..216, v2 217..416, v3 417..616
EXAMPLES = 3

OLD_READ = "SELECT name, phone FROM customers WHERE id = %s"
NEW_READ = (
    "SELECT c.display_name, p.phone FROM customers AS c "
    "LEFT JOIN customer_phones AS p ON p.customer_id = c.id WHERE c.id = %s"
)
PHONE_INSERT = "INSERT INTO customer_phones (customer_id, phone) VALUES (%s, %s)"
PHONE_UPSERT = (
    "INSERT INTO customer_phones (customer_id, phone) VALUES (%s, %s) "
    "ON CONFLICT (customer_id) DO UPDATE SET phone = excluded.phone"
)


@dataclass(frozen=True)
class Release:
    """One release of the app: its queries (the README's table) and its slice of customers."""

    name: str
    first_id: int
    read: str
    insert: tuple[str, ...]  # the customers INSERT ... RETURNING id, then (v2, v3) the phone's
    update: tuple[str, ...]

    def sql(self, kind: str) -> str:
        """This release's query of `kind` (read, insert or update); the first, for a write."""
        return {"read": self.read, "insert": self.insert[0], "update": self.update[0]}[kind]


V1 = Release(
    "v1",
    17,
    OLD_READ,
    ("INSERT INTO customers (email, name, phone) VALUES (%s, %s, %s) RETURNING id",),
    ("UPDATE customers SET name = %s, phone = %s WHERE id = %s",),
)
V2 = Release(
    "v2",
    217,
    OLD_READ,
    (
        "INSERT INTO customers (email, name, display_name, phone) VALUES (%s, %s, %s, %s) "
        "RETURNING id",
        PHONE_INSERT,
    ),
    ("UPDATE customers SET name = %s, display_name = %s, phone = %s WHERE id = %s", PHONE_UPSERT),
)
V3 = Release(
    "v3",
    417,
    NEW_READ,
    ("INSERT INTO customers (email, display_name) VALUES (%s, %s) RETURNING id", PHONE_INSERT),
    ("UPDATE customers SET display_name = %s WHERE id = %s", PHONE_UPSERT),
)
RELEASES = {release.name: release for release in (V1, V2, V3)}


@dataclass
class ReleaseLedger:
    """What one release wrote: {customer id: (name, phone)}, and the values it will use next."""

    version: Release
    expected: dict[int, tuple[str, str | None]]  # the fixture's rows, shared by every ledger
    written: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    next_update: int = 0

    def new_values(self) -> tuple[str, str, str]:
        """(email, name, phone), with a quote and a non-ASCII letter in every name."""
        n = next(self.counter)
        name = f"{self.version.name} O'Zoë #{n}"
        return f"{self.version.name}-{n}@example.com", name, f"+34 7{n:08d}"

    def update_target(self) -> int:
        customer_id = self.version.first_id + self.next_update % POOL
        self.next_update += 1
        return customer_id

    def value(self, customer_id: int) -> tuple[str, str | None]:
        return self.written.get(customer_id) or self.expected[customer_id]


class ReleaseThread(AppThread[ReleaseLedger]):
    """One release, with its ledger: the kit's loop, with this lesson's reads and writes."""

    def read(self, sql: str) -> str:
        ledger = self.ledger
        customer_id = ledger.version.first_id + (ledger.next_update * 7) % POOL
        want = ledger.value(customer_id)
        row = self.conn.execute(sql, (customer_id,)).fetchone()
        got = tuple(row) if row else None
        if got != want:
            return f"read {got!r} for customer {customer_id}, expected {want!r}"
        return ""

    def insert(self, sql: str) -> str:
        email, name, phone = self.ledger.new_values()
        release = self.ledger.version
        with self.conn.transaction():
            if release is V1:
                customer_id = scalar(self.conn, sql, (email, name, phone))
            elif release is V2:
                customer_id = scalar(self.conn, sql, (email, name, name, phone))
            else:
                customer_id = scalar(self.conn, sql, (email, name))
            if len(release.insert) > 1:
                self.conn.execute(release.insert[1], (customer_id, phone))
        self.ledger.written[customer_id] = (name, phone)
        return ""

    def update(self, sql: str) -> str:
        _, name, phone = self.ledger.new_values()
        customer_id = self.ledger.update_target()
        release = self.ledger.version
        with self.conn.transaction():
            if release is V1:
                self.conn.execute(sql, (name, phone, customer_id))
            elif release is V2:
                self.conn.execute(sql, (name, name, phone, customer_id))
            else:
                self.conn.execute(sql, (name, customer_id))
            if len(release.update) > 1:
                self.conn.execute(release.update[1], (customer_id, phone))
        self.ledger.written[customer_id] = (name, phone)
        return ""


class CustomerAppReleases:
    """The customers app's three releases: their ledgers for a whole check, and the thread of the
    release running now (one at a time, as the capstone deploys them)."""

    def __init__(self, dsn: str, fixture: dict[int, tuple[str, str | None]]) -> None:
        self.dsn = dsn
        self.ledgers = {name: ReleaseLedger(release, fixture) for name, release in RELEASES.items()}

    @contextlib.contextmanager
    def running(self, release: str) -> Iterator[list[Op]]:
        """Run one release in a thread for the duration of the block; yield its query log."""
        ops: list[Op] = []
        stop = threading.Event()
        with running([ReleaseThread(self.dsn, self.ledgers[release], ops, stop)], stop):
            yield ops

    def mismatches(self, conn: psycopg.Connection) -> list[str]:
        """Writes of any release that do not read back through v3's query, at the end."""
        found = []
        for ledger in self.ledgers.values():
            for customer_id, wrote in sorted(ledger.written.items()):
                try:
                    row = conn.execute(NEW_READ, (customer_id,)).fetchone()
                except psycopg.Error as exc:  # e.g. a contract that dropped display_name too
                    return [f"v3's read fails at head: {error_text(exc)}"]
                got = tuple(row) if row else None
                if got != wrote:
                    found.append(
                        f"{ledger.version.name} wrote name {wrote[0]!r}, phone {wrote[1]!r} for "
                        f"customer {customer_id}; v3 reads display_name, phone = {got!r}"
                    )
        return found


APP_NAME = "v1, v2 and v3 run without errors across their revisions; v3 reads what each wrote"
ADVICE = (
    (
        r'column "display_name"( of relation "customers")? does not exist',
        "v2 writes display_name from the moment it starts (right after 0001_expand): add it there.",
    ),
    (
        'relation "customer_phones" does not exist',
        "v2 writes customer_phones right after 0001_expand: create the table there.",
    ),
    (
        "no unique or exclusion constraint",
        "v2 and v3 upsert phones with ON CONFLICT (customer_id): make customer_id the primary key "
        "of customer_phones.",
    ),
    (
        'null value in column "name"',
        "v3 inserts customers without a name, and runs before 0003_contract: 0001_expand must "
        "let name be NULL (DROP NOT NULL).",
    ),
    (
        r'column "name"( of relation "customers")? does not exist',
        "name is gone while a release still uses it: only 0003_contract drops name and phone, "
        "once v3 is the only release running.",
    ),
    (
        r'column "phone"( of relation "customers")? does not exist',
        "phone is gone while a release still uses it: only 0003_contract drops it.",
    ),
    (
        "for customer",
        "a release read a value it did not expect: the backfill (0002) must copy every row's name "
        "into display_name and every non-NULL phone into customer_phones, exactly.",
    ),
)


def app_result(steps: list[tuple[str, int, str, list[Op]]], mismatches: list[str]) -> Result:
    """One result: [(revision, its task, release running, its queries)], then the read-back."""
    lines: list[str] = []
    tasks: list[int] = []
    advice: list[str] = []
    for revision, task, release, ops in steps:
        failed, examples, errors = failed_queries(ops, EXAMPLES if not lines else 1)
        if not failed:
            continue
        tasks.append(task)
        lines.append(
            f"Around {revision} ({release} running): {failed} of {len(ops)} queries failed, e.g.:"
        )
        lines.extend(examples)
        for error in errors:
            for pattern, text in ADVICE:
                if re.search(pattern, error) and text not in advice:
                    advice.append(text)
    if mismatches:
        tasks.append(2)
        lines.append(
            f"At head, {len(mismatches)} rows the releases wrote do not read back in "
            "display_name and customer_phones, e.g.:"
        )
        lines.extend(f"  {text}" for text in mismatches[:EXAMPLES])
        advice.append(
            "0002_backfill runs after v1 stopped: it must copy every row v1 wrote too (copy "
            "where display_name IS NULL, and every phone that has no row yet)."
        )
    lines.extend(f"Fix: {text}" for text in advice)
    return Result(min(tasks, default=1), APP_NAME, not lines, "\n".join(lines))
