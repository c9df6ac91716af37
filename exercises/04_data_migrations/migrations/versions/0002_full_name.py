"""Add users.full_name and backfill it from first_name and last_name.

Revision ID: 0002_full_name
Revises: 0001_create_users
Create Date: 2026-01-19 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_full_name"
down_revision: str | Sequence[str] | None = "0001_create_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add full_name (nullable at first), fill it for every user, then make it NOT NULL."""
    op.add_column("users", sa.Column("full_name", sa.String(200), nullable=True))
    # TODO: task 1. Fill full_name for every user (the README's rule), then make it NOT NULL.


def downgrade() -> None:
    """Remove full_name: first_name and last_name still hold everything it was made from."""
    op.drop_column("users", "full_name")
