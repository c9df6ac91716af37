"""add orders.status (Ana's branch)

Revision ID: 0003_order_status
Revises: 0002_add_orders
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_order_status"
down_revision = "0002_add_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column("status", sa.String(20), nullable=False, server_default="new"),
    )
    op.alter_column("orders", "status", server_default=None)


def downgrade() -> None:
    op.drop_column("orders", "status")
