"""Expand: add customers.display_name and the customer_phones table; let name be NULL.

Revision ID: 0001_expand
Revises:
Create Date: 2026-11-25 09:00:00.000000

Deployed while v1 of the app runs (it reads and writes name and phone). Everything here is new
and empty, or looser than before: v1 notices nothing. name becomes nullable because v3 will stop
writing it before 0003_contract drops it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_expand"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Give up after 300 ms instead of making every app query queue behind this ALTER TABLE.
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.add_column("customers", sa.Column("display_name", sa.Text()))
    op.create_table(
        "customer_phones",
        sa.Column(
            "customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), primary_key=True
        ),
        sa.Column("phone", sa.Text(), nullable=False),
    )
    # v3 inserts customers without a name: the old column must accept that before v3 starts.
    op.alter_column("customers", "name", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.alter_column("customers", "name", existing_type=sa.Text(), nullable=False)
    op.drop_table("customer_phones")
    op.drop_column("customers", "display_name")
