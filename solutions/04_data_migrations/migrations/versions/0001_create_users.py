"""Create users, with the address in three columns.

Revision ID: 0001_create_users
Revises:
Create Date: 2026-01-12 09:00:00.000000

The lesson's database is already at this revision, with 1,000 users in it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001_create_users"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the users table as the app first had it."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("first_name", sa.String(100)),
        sa.Column("last_name", sa.String(100)),
        sa.Column("address_street", sa.String(200)),
        sa.Column("address_city", sa.String(100)),
        sa.Column("address_postal", sa.String(20)),
    )


def downgrade() -> None:
    """Drop the users table (and every user in it)."""
    op.drop_table("users")
