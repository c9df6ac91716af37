"""Backfill: copy email into email_address for the users that existed before 0001_expand.

Revision ID: 0002_backfill
Revises: 0001_expand
Create Date: 2026-01-12 09:00:00.000000

Its own revision, so 0001's ACCESS EXCLUSIVE lock was released before these 100,000 rows are
updated. An UPDATE only locks the rows it changes: reads go on, and so do writes to other rows.
"""

from alembic import op

revision = "0002_backfill"
down_revision = "0001_expand"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 2. Copy email into email_address where email_address is still NULL.
    pass


def downgrade() -> None:
    pass  # nothing to undo: 0001_expand's downgrade drops the column
