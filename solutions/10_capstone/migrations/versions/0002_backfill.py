"""Backfill: copy name into display_name and phone into customer_phones, for every customer.

Revision ID: 0002_backfill
Revises: 0001_expand
Create Date: 2026-11-25 09:00:00.000000

Deployed while v2 runs: v2 writes both the old and the new places, so only rows written before
it (the fixture's, and v1's during 0001_expand) need copying. Both statements skip what v2 has
already written, so the backfill can run (and run again) while v2 keeps writing.
"""

from alembic import op

revision = "0002_backfill"
down_revision = "0001_expand"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    # An exact copy, '' and spaces included: the downgrade must be able to give name back.
    op.execute("UPDATE customers SET display_name = name WHERE display_name IS NULL")
    # '' is a phone the customer typed; only NULL means "no phone", so only NULL gets no row.
    op.execute(
        "INSERT INTO customer_phones (customer_id, phone) "
        "SELECT id, phone FROM customers WHERE phone IS NOT NULL "
        "ON CONFLICT (customer_id) DO NOTHING"
    )


def downgrade() -> None:
    # Nothing to undo here: 0001_expand's downgrade drops display_name and customer_phones, and
    # 0003_contract's downgrade has already copied everything back into name and phone.
    pass
