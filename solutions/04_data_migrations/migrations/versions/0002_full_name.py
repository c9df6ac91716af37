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
    # trim() drops the padding, nullif() turns a part left empty into NULL, and concat_ws() skips
    # NULLs: ('  Ana ', NULL) gives 'Ana', and (NULL, NULL) gives '' (never NULL, never ' ').
    op.execute(
        """
        UPDATE users
        SET full_name = concat_ws(' ', nullif(trim(first_name), ''), nullif(trim(last_name), ''))
        """
    )
    op.alter_column("users", "full_name", existing_type=sa.String(200), nullable=False)


def downgrade() -> None:
    """Remove full_name: first_name and last_name still hold everything it was made from."""
    op.drop_column("users", "full_name")
