"""add coupons (production has it already: created by hand, so it is stamped there)

Revision ID: 0005_add_coupons
Revises: 0004_merge_heads
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_add_coupons"
down_revision = "0004_merge_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The same shape as the hand-made table, so a new database gets what production has.
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("percent_off", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date()),
    )


def downgrade() -> None:
    op.drop_table("coupons")
