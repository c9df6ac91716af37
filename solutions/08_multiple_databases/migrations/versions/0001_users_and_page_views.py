"""users in main, page_views in analytics

Revision ID: 0001_users_and_page_views
Revises:
Create Date: 2026-11-25 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001_users_and_page_views"
down_revision: str | Sequence[str] | None = None
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
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=True),
    )


def downgrade_main() -> None:
    op.drop_table("users")


def upgrade_analytics() -> None:
    op.create_table(
        "page_views",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("viewed_at", sa.DateTime(), server_default=sa.func.now(), nullable=False),
    )


def downgrade_analytics() -> None:
    op.drop_table("page_views")
