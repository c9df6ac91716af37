"""add orders (Ana's branch)

Revision ID: 0002_add_orders
Revises: 0001_create_users
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_add_orders"
down_revision = "0001_create_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("orders")
