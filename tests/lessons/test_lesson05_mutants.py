"""Lesson 05's grader against the learner's most likely wrong answers: one mutant per criterion,
each failing with a message that names the problem and the fix."""

from __future__ import annotations

from helpers import Mutation, combine, replace
from test_lesson05 import LESSON, VERSIONS  # noqa: F401 (LESSON: the harness's lesson)

CONCURRENT_INDEX = """    with op.get_context().autocommit_block():
        # It waits for running transactions, yet never makes the app wait: it can afford longer.
        op.execute("SET lock_timeout = '5s'")
        # A build that was stopped leaves an INVALID index behind: clear it, so a retry works.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_users_email_address")
        op.create_index(
            "ix_users_email_address",
            "users",
            ["email_address"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.execute("RESET lock_timeout")"""
NOT_VALID_CHECK = """    op.create_check_constraint(
        "users_email_address_not_null",
        "users",
        "email_address IS NOT NULL",
        postgresql_not_valid=True,
    )"""
VALIDATE = '    op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_address_not_null")'
TWO_WAY = """    IF TG_OP = 'INSERT' THEN
        NEW.email_address := COALESCE(NEW.email_address, NEW.email);
        NEW.email := COALESCE(NEW.email, NEW.email_address);
    ELSIF NEW.email IS DISTINCT FROM OLD.email THEN
        NEW.email_address := NEW.email;
    ELSIF NEW.email_address IS DISTINCT FROM OLD.email_address THEN
        NEW.email := NEW.email_address;
    END IF;"""
CONTRACT = """    op.execute("DROP TRIGGER users_sync_email ON users")
    op.execute("DROP FUNCTION users_sync_email()")
    op.drop_column("users", "email")"""

# every_lesson.py's mutant test runs on these: mutation, the result that must fail (its name's
# start), phrases its failure must contain
MUTANTS: dict[str, tuple[Mutation, str, list[str]]] = {
    "no_lock_timeout": (
        replace(
            VERSIONS / "0004_not_valid.py",
            "def upgrade() -> None:\n    op.execute(\"SET LOCAL lock_timeout = '300ms'\")\n",
            "def upgrade() -> None:\n",
        ),
        "0004_not_valid",
        [
            "never gave up",
            "for an ACCESS EXCLUSIVE lock on users (`ALTER TABLE users ADD CONSTRAINT",
            "the app's queries queued behind it for up to",
            "SET LOCAL lock_timeout",
            "require-lock-timeout",
        ],
    ),
    "plain_create_index": (
        replace(
            VERSIONS / "0003_index.py",
            CONCURRENT_INDEX,
            '    op.create_index("ix_users_email_address", "users", ["email_address"])',
        ),
        "0003_index",
        [
            "the app's writes waited up to",
            "`CREATE INDEX ix_users_email_address ON users (email_address)` needs a SHARE lock",
            "postgresql_concurrently=True",
            "require-concurrent-index-creation",
        ],
    ),
    "concurrently_inside_the_transaction": (
        replace(
            VERSIONS / "0003_index.py",
            "    with op.get_context().autocommit_block():\n        # It waits",
            "    if True:\n        # It waits",
        ),
        "0003_index",
        [
            "cannot run inside a transaction block",
            "(at migrations/versions/0003_index.py, line ",
            "`with op.get_context().autocommit_block():`",
            "ban-concurrent-index-creation-in-transaction",
        ],
    ),
    "not_null_in_one_step": (
        combine(
            replace(
                VERSIONS / "0004_not_valid.py",
                NOT_VALID_CHECK,
                '    op.alter_column("users", "email_address", nullable=False)',
            ),
            replace(VERSIONS / "0005_validate.py", VALIDATE, "    pass"),
        ),
        "0004_not_valid",
        [
            "After 0004_not_valid, email_address is NOT NULL",
            "SET NOT NULL scans all 100,000 rows while holding ACCESS EXCLUSIVE",
            "0005_validate had no NOT VALID constraint to validate",
            "adding-not-nullable-field",
        ],
    ),
    "one_way_trigger": (
        replace(VERSIONS / "0001_expand.py", TWO_WAY, "    NEW.email_address := NEW.email;"),
        "v1 and v2",
        [
            "v2 set email_address = 'v2-",
            "do not read back what was written",
            "alone overwrites every write v2 makes",
        ],
    ),
    "column_dropped_before_the_trigger": (
        replace(
            VERSIONS / "0006_contract.py",
            CONTRACT,
            '    op.drop_column("users", "email")\n'
            '    op.execute("DROP TRIGGER users_sync_email ON users")\n'
            '    op.execute("DROP FUNCTION users_sync_email()")',
        ),
        "0006_contract",
        ["0006_contract drops email before the trigger", 'record "new" has no field "email"'],
    ),
    "trigger_left_behind": (
        replace(VERSIONS / "0006_contract.py", CONTRACT, '    op.drop_column("users", "email")'),
        "0006_contract",
        [
            "Still there after 0006_contract: trigger users_sync_email",
            "v2: `INSERT INTO users (email_address, name) VALUES (%s, %s) RETURNING id` -> "
            'record "new" has no field "email"',
            "drop the trigger and its function before the column",
        ],
    ),
    "squawk_ignore_comment": (
        replace(
            VERSIONS / "0002_backfill.py",
            '    op.execute("UPDATE users',
            '    op.execute("-- squawk-ignore prefer-robust-stmts\\nUPDATE users',
        ),
        "squawk",
        [
            "squawk-ignore comments are not accepted",
            "migrations/versions/0002_backfill.py, line 21",
        ],
    ),
}
