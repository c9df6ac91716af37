"""Lesson 10, tasks 1-4: each revision alone, row by row, then the round trip to the start.

On a fresh copy of the template with nothing else running: `upgrade` one revision at a time, and
after each compare the schema and every customer's row with what that revision must leave; then
`downgrade base` must give back the schema and every table's data byte for byte (checksums).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from course_db.graders.kit.values import show_value
from course_db.inprocess import alembic
from course_db.inspection import (
    constraints,
    schema_snapshot,
    snapshot_differences,
    table_checksums,
    table_columns,
    table_exists,
)
from course_db.report import Result

EXAMPLES = 3
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class StepSpec:
    revision: str
    task: int
    release: str  # the app release that runs while it deploys
    name: str


STEPS = (
    StepSpec(
        "0001_expand",
        1,
        "v1",
        "0001_expand adds display_name and customer_phones, lets name be NULL, changes no row",
    ),
    StepSpec(
        "0002_backfill",
        2,
        "v2",
        "0002_backfill copies every name and every phone exactly, and keeps the old columns",
    ),
    StepSpec(
        "0003_contract",
        3,
        "v3",
        "0003_contract drops name and phone, and every customer keeps their name and phone",
    ),
)
ROUND_TRIP = "`downgrade base` gives back the schema and every table's data, byte for byte"
Rows = dict[int, tuple[str, str | None]]


def fixture_rows(conn: psycopg.Connection) -> Rows:
    """{id: (name, phone)} of every customer, as the old columns hold them."""
    return {
        row[0]: (row[1], row[2]) for row in conn.execute("SELECT id, name, phone FROM customers")
    }


def grade_steps(root: Path, conn: psycopg.Connection) -> list[Result]:
    before_schema = schema_snapshot(conn)
    before_sums = table_checksums(conn)
    rows = fixture_rows(conn)
    emails: dict[int, str] = dict(conn.execute("SELECT id, email FROM customers").fetchall())
    results: list[Result] = []
    for step in STEPS:
        ran = alembic(root, "upgrade", step.revision)
        if not ran.ok:
            results.append(Result(step.task, step.name, False, ran.explain()))
            results += [
                Result(later.task, later.name, False, f"Not run: fix {step.revision} first.")
                for later in STEPS[STEPS.index(step) + 1 :]
            ]
            results.append(Result(4, ROUND_TRIP, False, "Not run: the upgrade must work first."))
            return results
        problems = CHECKS[step.revision](conn, rows, emails)
        results.append(Result(step.task, step.name, not problems, "\n".join(problems)))
    results.append(_round_trip(root, conn, before_schema, before_sums, rows))
    return results


# After each revision -------------------------------------------------------------------------
def _after_expand(conn: psycopg.Connection, rows: Rows, emails: dict[int, str]) -> list[str]:
    columns = table_columns(conn, "customers")
    problems = []
    if "display_name" not in columns:
        problems.append("customers has no display_name column: add it (text, NULL allowed).")
    elif columns["display_name"][:2] != ("text", False):
        problems.append(
            f"customers.display_name is {_describe(columns['display_name'])}: "
            "add it as text, NULL allowed (the backfill fills it later)."
        )
    for old in ("name", "phone"):
        if old not in columns:
            problems.append(
                f"customers.{old} is gone after 0001_expand, but v1 still reads and writes it: "
                "only 0003_contract drops the old columns."
            )
    if "name" in columns and columns["name"][1]:
        problems.append(
            "customers.name is still NOT NULL: v3 inserts customers without a name before "
            "0003_contract runs; let it be NULL (alter_column(..., nullable=True))."
        )
    problems += _phone_table(conn)
    if not problems and fixture_rows(conn) != rows:
        problems.append("0001_expand changed customers' names or phones: it must only add things.")
    return problems


def _phone_table(conn: psycopg.Connection) -> list[str]:
    if not table_exists(conn, "customer_phones"):
        return ["There is no table customer_phones after 0001_expand: create it there."]
    got = {column: info[:2] for column, info in table_columns(conn, "customer_phones").items()}
    wanted = {"customer_id": ("bigint", True), "phone": ("text", True)}
    problems = [
        f"customer_phones.{column} is {_describe(got.get(column))}, expected {_describe(want)}"
        for column, want in wanted.items()
        if got.get(column) != want
    ]
    keys = constraints(conn, "customer_phones")
    if ("p", ["customer_id"], None) not in keys:
        problems.append("customer_phones.customer_id is not its primary key")
    if ("f", ["customer_id"], "customers") not in keys:
        problems.append("customer_phones.customer_id has no foreign key to customers.id")
    return [f"{problem}." for problem in problems]


def _after_backfill(conn: psycopg.Connection, rows: Rows, emails: dict[int, str]) -> list[str]:
    problems = _names(conn, rows) + _phones(conn, rows)
    columns = table_columns(conn, "customers")
    if "name" not in columns or "phone" not in columns:
        problems.append(
            "name or phone is gone after 0002_backfill, but v2 still writes them while it "
            "deploys: only 0003_contract drops the old columns."
        )
    elif fixture_rows(conn) != rows:
        problems.append(
            "0002_backfill changed customers.name or phone: copy them, never change them."
        )
    return problems


def _after_contract(conn: psycopg.Connection, rows: Rows, emails: dict[int, str]) -> list[str]:
    left = [old for old in ("name", "phone") if old in table_columns(conn, "customers")]
    problems = [f"customers still has {', '.join(left)}: 0003_contract drops it."] if left else []
    return problems + _names(conn, rows) + _phones(conn, rows)


CHECKS = {
    "0001_expand": _after_expand,
    "0002_backfill": _after_backfill,
    "0003_contract": _after_contract,
}


def _names(conn: psycopg.Connection, rows: Rows) -> list[str]:
    if "display_name" not in table_columns(conn, "customers"):
        return ["customers has no display_name column."]
    got: dict[int, str | None] = dict(
        conn.execute("SELECT id, display_name FROM customers").fetchall()
    )
    wrong = sorted(cid for cid, (name, _) in rows.items() if got.get(cid) != name)
    if not wrong:
        return []
    nulls = [cid for cid in wrong if got.get(cid) is None]
    lines = [
        f"display_name differs from the old name for {len(wrong)} of {len(rows)} customers"
        + (f" ({len(nulls)} are NULL)" if nulls else "")
        + ", e.g.:"
    ]
    lines += [
        f"  customer {cid}: name {rows[cid][0]!r}, display_name {show_value(got.get(cid))}"
        for cid in _examples(wrong, rows, 0)
    ]
    lines.append(
        "Copy name exactly (UPDATE customers SET display_name = name ...): no trim, no "
        "NULLIF, nothing skipped, so that the downgrade can give every name back."
    )
    return lines


def _phones(conn: psycopg.Connection, rows: Rows) -> list[str]:
    if not table_exists(conn, "customer_phones"):
        return ["There is no table customer_phones."]
    got: dict[int, str | None] = dict(
        conn.execute("SELECT customer_id, phone FROM customer_phones").fetchall()
    )
    wanted = {cid: phone for cid, (_, phone) in rows.items() if phone is not None}
    missing = sorted(cid for cid in wanted if cid not in got)
    extra = sorted(cid for cid in got if cid not in wanted)
    changed = sorted(cid for cid in wanted if cid in got and got[cid] != wanted[cid])
    lines = []
    if missing:
        empty = [cid for cid in missing if wanted[cid] == ""]
        lines.append(
            f"{len(missing)} of {len(wanted)} customers with a phone have no row in "
            "customer_phones, e.g.: "
            + ", ".join(
                f"customer {cid} (phone {wanted[cid]!r})" for cid in _examples(missing, rows, 1)
            )
        )
        if empty:
            lines.append(f"{len(empty)} of them have phone '': only NULL means no phone.")
    if extra:
        lines.append(
            f"{len(extra)} customers whose phone is NULL got a row, e.g. customer "
            f"{extra[0]} ({show_value(got[extra[0]])}): no phone, no row."
        )
    if changed:
        lines.append(
            f"{len(changed)} phones changed on the way, e.g.: "
            + ", ".join(
                f"customer {cid}: {wanted[cid]!r} -> {got[cid]!r}" for cid in changed[:EXAMPLES]
            )
        )
        lines.append("Copy each phone exactly: no trim, no reformatting.")
    return lines


# Task 4 -------------------------------------------------------------------------------------
def _round_trip(
    root: Path, conn: psycopg.Connection, schema: dict[str, str], sums: dict[str, str], rows: Rows
) -> Result:
    ran = alembic(root, "downgrade", "base")
    if not ran.ok:
        return Result(4, ROUND_TRIP, False, ran.explain())
    now_schema = _without_version(schema_snapshot(conn))
    problems = [
        f"{key}: was {show_value(was)}, now {show_value(now)}"
        for key, was, now in snapshot_differences(_without_version(schema), now_schema)
    ][:6]
    if problems:
        problems.insert(0, "After `downgrade base` the schema is not as it was before the upgrade:")
    else:
        now_sums = table_checksums(conn)
        changed = sorted(t for t in sums if now_sums.get(t) != sums[t])
        if changed:
            problems.append(
                f"After `downgrade base`, the data of {', '.join(changed)} differs "
                "from before the upgrade (checksum of every row)."
            )
            if "customers" in changed:
                problems += _changed_customers(conn, rows)
    return Result(4, ROUND_TRIP, not problems, "\n".join(problems))


def _changed_customers(conn: psycopg.Connection, rows: Rows) -> list[str]:
    now = fixture_rows(conn)
    changed = sorted(cid for cid in rows if now.get(cid) != rows[cid])
    lines = [f"{len(changed)} customers differ, e.g.:"]
    lines += [
        f"  customer {cid}: (name, phone) was {show_value(rows[cid])}, "
        f"now {show_value(now.get(cid))}"
        for cid in changed[:EXAMPLES]
    ]
    lines.append(
        "0003_contract's downgrade copies display_name back into name and each "
        "customer_phones row back into phone; a downgrade deletes nothing first."
    )
    return lines


# Reading and showing ------------------------------------------------------------------------
def _without_version(snapshot: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in snapshot.items() if VERSION_TABLE not in key}


def _examples(ids: list[int], rows: Rows, part: int) -> list[int]:
    """A few examples, the awkward values ('', spaces, line breaks, non-ASCII) first."""

    def plain(cid: int) -> bool:
        value = rows[cid][part] or ""
        return value.strip() == value and value.isascii() and value != ""

    return sorted(ids, key=plain)[:EXAMPLES]


def _describe(column: tuple[object, ...] | None) -> str:
    if column is None:
        return "missing"
    return f"{column[0]} {'NOT NULL' if column[1] else 'NULL allowed'}"
