"""Lesson 05's schema checks: what each revision must have changed, seen before and after it.

Each step is judged on its own change (a snapshot of `users` before it and after it), so a
placeholder that does nothing fails even when another revision already did that step's work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from course_db.inspection import scalar, table_columns

NOT_NULL_DEF = r"^(CHECK \(\(email_address IS NOT NULL\)\)|NOT NULL email_address)"


@dataclass(frozen=True)
class Snapshot:
    """The parts of `users` the exercise changes."""

    nullable: dict[str, bool]  # column -> allows NULL
    triggers: tuple[str, ...]
    functions: tuple[str, ...]  # in schema public
    indexes: tuple[tuple[str, bool], ...]  # (name, valid) of indexes on (email_address)
    constraints: tuple[tuple[str, bool], ...]  # (name, validated): email_address IS NOT NULL
    unsynced: int  # users whose email_address differs from email (when both exist)

    @property
    def names(self) -> set[str]:
        return set(self.nullable)

    @property
    def validated(self) -> bool:
        return any(valid for _, valid in self.constraints)

    @property
    def not_null(self) -> bool:
        """email_address cannot be NULL: a validated constraint, or the column's NOT NULL.

        (PostgreSQL 18 records SET NOT NULL as a validated constraint too; it also has NOT NULL
        constraints that are NOT VALID, which leave the column's flag set: those do not count.)
        """
        invalid = any(not valid for _, valid in self.constraints)
        return self.validated or (self.nullable.get("email_address") is False and not invalid)


def snapshot(conn: psycopg.Connection) -> Snapshot:
    nullable = {name: not info.not_null for name, info in table_columns(conn, "users").items()}
    unsynced = 0
    if {"email", "email_address"} <= set(nullable):
        unsynced = scalar(
            conn, "SELECT count(*) FROM users WHERE email_address IS DISTINCT FROM email"
        )
    return Snapshot(
        nullable=nullable,
        triggers=_column(
            conn,
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'users'::regclass "
            "AND NOT tgisinternal ORDER BY 1",
        ),
        functions=_column(
            conn,
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' ORDER BY 1",
        ),
        indexes=tuple(
            conn.execute(
                """
                SELECT c.relname, i.indisvalid FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = 'users'::regclass AND i.indnatts = 1
                  AND a.attname = 'email_address' AND i.indexprs IS NULL
                ORDER BY 1
                """
            ).fetchall()
        ),
        constraints=tuple(
            conn.execute(
                "SELECT conname, convalidated FROM pg_constraint "
                "WHERE conrelid = 'users'::regclass AND contype IN ('c', 'n') "
                "AND pg_get_constraintdef(oid) ~ %s ORDER BY 1",
                (NOT_NULL_DEF,),
            ).fetchall()
        ),
        unsynced=unsynced,
    )


def _column(conn: psycopg.Connection, sql: str) -> tuple[str, ...]:
    return tuple(row[0] for row in conn.execute(sql).fetchall())


Check = Callable[[Snapshot, Snapshot, str], list[str]]  # (before, after, the revision's SQL)


def expand(before: Snapshot, after: Snapshot, sql: str) -> list[str]:
    problems = []
    if "email" not in after.names:
        problems.append(
            "users has no email column after 0001_expand, but v1 (running now) still reads and "
            "writes it: add email_address next to email instead of renaming it (email goes in "
            "0006_contract, once v1 is gone)."
        )
    if "email_address" not in after.names:
        problems.append("After 0001_expand there is no email_address column: op.add_column it.")
    elif after.nullable["email_address"] is False:
        problems.append(
            "email_address is NOT NULL already: add it nullable; 0004 and 0005 make it NOT NULL "
            "without locking users for a full scan."
        )
    if not set(after.triggers) - set(before.triggers):
        problems.append(
            "0001_expand created no trigger on users: v1's writes would never reach "
            "email_address, nor v2's reach email. Add a BEFORE INSERT OR UPDATE trigger that "
            "copies whichever column the app wrote into the other one."
        )
    return problems


def backfill(before: Snapshot, after: Snapshot, sql: str) -> list[str]:
    if not {"email", "email_address"} <= after.names:
        return ["0002_backfill needs email and email_address side by side: fix 0001_expand first."]
    if before.unsynced == 0:
        return [
            "Before 0002_backfill ran, every user already had email_address: the copy belongs "
            "here, in its own revision, so 0001's ACCESS EXCLUSIVE lock is not held while "
            "100,000 rows are updated."
        ]
    if after.unsynced:
        return [
            f"After 0002_backfill, {after.unsynced:,} users have an email_address that differs "
            "from email. Copy it: UPDATE users SET email_address = email "
            "WHERE email_address IS NULL."
        ]
    return []


def index(before: Snapshot, after: Snapshot, sql: str) -> list[str]:
    if before.indexes:
        return [
            f"Index {before.indexes[0][0]} on email_address existed before 0003_index ran "
            "(built by an earlier revision, without CONCURRENTLY?): build it here, concurrently."
        ]
    if not after.indexes:
        return [
            "After 0003_index there is no index on users(email_address): "
            "op.create_index('ix_users_email_address', 'users', ['email_address'], "
            "postgresql_concurrently=True) inside op.get_context().autocommit_block()."
        ]
    invalid = [name for name, valid in after.indexes if not valid]
    if invalid:
        return [
            f"Index {invalid[0]} is INVALID: a CONCURRENTLY build that was stopped leaves one "
            "behind. Drop it first (DROP INDEX CONCURRENTLY IF EXISTS) so a retry builds it again."
        ]
    return []


def not_valid(before: Snapshot, after: Snapshot, sql: str) -> list[str]:
    if before.not_null:
        return ["email_address was NOT NULL before 0004_not_valid ran: see 0001_expand."]
    invalid = any(not valid for _, valid in after.constraints)
    if after.nullable.get("email_address") is False and not invalid:  # SET NOT NULL, at once
        return [
            "After 0004_not_valid, email_address is NOT NULL: SET NOT NULL scans all 100,000 "
            "rows while holding ACCESS EXCLUSIVE, so every query waits. Add "
            "CHECK (email_address IS NOT NULL) NOT VALID here (op.create_check_constraint(..., "
            "postgresql_not_valid=True)) and VALIDATE it in 0005_validate."
        ]
    if after.validated:
        return [
            f"After 0004_not_valid, {after.constraints[0][0]} is already validated: without NOT "
            "VALID, adding it scans all 100,000 rows while holding ACCESS EXCLUSIVE. Add it NOT "
            "VALID here (postgresql_not_valid=True) and VALIDATE it in 0005_validate."
        ]
    if not after.constraints:
        return [
            "After 0004_not_valid there is no CHECK (email_address IS NOT NULL) on users: "
            "op.create_check_constraint('users_email_address_not_null', 'users', "
            "'email_address IS NOT NULL', postgresql_not_valid=True)."
        ]
    return []


def validate(before: Snapshot, after: Snapshot, sql: str) -> list[str]:
    if not before.constraints or before.not_null:
        return ["0005_validate had no NOT VALID constraint to validate: fix 0004_not_valid first."]
    if not after.not_null:
        return [
            "After 0005_validate the CHECK is still NOT VALID, so old rows are not checked: "
            "op.execute('ALTER TABLE users VALIDATE CONSTRAINT users_email_address_not_null')."
        ]
    return []


def contract(before: Snapshot, after: Snapshot, sql: str) -> list[str]:
    if "email" not in before.names:
        return ["email was already gone before 0006_contract ran: v1 needed it until then."]
    problems = []
    if "email" in after.names:
        problems.append("users still has the email column after 0006_contract: drop it there.")
    leftovers = [f"trigger {name}" for name in after.triggers]
    leftovers += [f"function {name}()" for name in after.functions]
    if leftovers:
        problems.append(
            f"Still there after 0006_contract: {', '.join(leftovers)}. Drop the trigger and its "
            "function, then the column."
        )
    if not after.not_null or not after.indexes:
        problems.append(
            "0006_contract must keep the index and the NOT NULL check on email_address."
        )
    trigger = re.search(r"DROP TRIGGER", sql, re.IGNORECASE)
    column = re.search(r"DROP COLUMN (IF EXISTS )?\"?email\b", sql, re.IGNORECASE)
    if trigger and column and column.start() < trigger.start():
        problems.append(
            "0006_contract drops email before the trigger. That only works because both run in "
            'one transaction; run apart, every insert fails with record "new" has no field '
            '"email". Drop the trigger and its function first, then the column.'
        )
    return problems


CHECKS: dict[str, Check] = {
    "0001_expand": expand,
    "0002_backfill": backfill,
    "0003_index": index,
    "0004_not_valid": not_valid,
    "0005_validate": validate,
    "0006_contract": contract,
}
