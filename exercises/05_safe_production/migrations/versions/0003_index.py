"""Index email_address for v2's lookups, without blocking the app's writes.

Revision ID: 0003_index
Revises: 0002_backfill
Create Date: 2026-01-12 09:00:00.000000

A plain CREATE INDEX takes a SHARE lock: reads go on, every INSERT, UPDATE and DELETE waits until
the index is built. CONCURRENTLY only takes SHARE UPDATE EXCLUSIVE, which writes do not conflict
with, but it cannot run inside a transaction block.
"""

from alembic import op

revision = "0003_index"
down_revision = "0002_backfill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 3. Build ix_users_email_address CONCURRENTLY, in op.get_context().autocommit_block().
    pass


def downgrade() -> None:
    pass
