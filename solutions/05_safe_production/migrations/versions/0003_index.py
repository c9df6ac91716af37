"""Index email_address for v2's lookups, without blocking the app's writes.

Revision ID: 0003_index
Revises: 0002_backfill
Create Date: 2026-01-12 09:00:00.000000

A plain CREATE INDEX takes a SHARE lock: reads go on, every INSERT, UPDATE and DELETE waits until
the index is built. CONCURRENTLY only takes SHARE UPDATE EXCLUSIVE, which writes do not conflict
with, but it cannot run inside a transaction block: hence autocommit_block().
"""

from alembic import op

revision = "0003_index"
down_revision = "0002_backfill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # CONCURRENTLY cannot run in Alembic's transaction: the block commits it and runs on its own.
    with op.get_context().autocommit_block():
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
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("SET lock_timeout = '5s'")
        op.drop_index(
            "ix_users_email_address",
            table_name="users",
            postgresql_concurrently=True,
            if_exists=True,
        )
        op.execute("RESET lock_timeout")
