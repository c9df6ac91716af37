"""Backfill: copy name into display_name and phone into customer_phones, for every customer.

Revision ID: 0002_backfill
Revises: 0001_expand
Create Date: 2026-11-25 09:00:00.000000

Deployed while v2 runs: v2 writes both the old and the new places.
"""

from alembic import op  # noqa: F401  (you will need it)

revision = "0002_backfill"
down_revision = "0001_expand"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 2. Copy every name and every non-NULL phone, exactly, skipping what v2 wrote.
    pass


def downgrade() -> None:
    # TODO: task 4. What must this undo, once the revisions around it undo theirs?
    pass
