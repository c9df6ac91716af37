"""Rename users.name to display_name, keeping every value.

Revision ID: 0004_rename_name
Revises: 0003_index_posts_user_id
Create Date: 2026-01-15 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004_rename_name"
down_revision: str | Sequence[str] | None = "0003_index_posts_user_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Rename the column in place: the values stay where they are."""
    op.alter_column("users", "name", new_column_name="display_name")


def downgrade() -> None:
    """Rename it back."""
    op.alter_column("users", "display_name", new_column_name="name")
