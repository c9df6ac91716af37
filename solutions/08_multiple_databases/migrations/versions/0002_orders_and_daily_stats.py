"""orders in main, daily_stats in analytics

Revision ID: 0002_orders_and_daily_stats
Revises: 0001_users_and_page_views
Create Date: 2026-11-25 09:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_orders_and_daily_stats"
down_revision: str | Sequence[str] | None = "0001_users_and_page_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade(engine_name: str) -> None:
    """Run upgrade_main() or upgrade_analytics(): the half of the database env.py migrates."""
    globals()[f"upgrade_{engine_name}"]()


def downgrade(engine_name: str) -> None:
    """Run the downgrade of the database env.py is migrating."""
    globals()[f"downgrade_{engine_name}"]()


def upgrade_main() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("total", sa.Numeric(10, 2), nullable=False),
    )


def downgrade_main() -> None:
    op.drop_table("orders")


def upgrade_analytics() -> None:
    op.create_table(
        "daily_stats",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("views", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade_analytics() -> None:
    op.drop_table("daily_stats")
