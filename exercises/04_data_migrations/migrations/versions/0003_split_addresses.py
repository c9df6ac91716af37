"""Move the address from three users columns into an addresses table.

Revision ID: 0003_split_addresses
Revises: 0002_full_name
Create Date: 2026-01-26 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003_split_addresses"
down_revision: str | Sequence[str] | None = "0002_full_name"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create addresses, copy each user's address into it, drop the three old columns."""
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("street", sa.String(200)),
        sa.Column("city", sa.String(100)),
        sa.Column("postal_code", sa.String(20)),
    )
    # TODO: task 2. Copy every user's address into addresses, keeping every part of it.
    op.drop_column("users", "address_street")
    op.drop_column("users", "address_city")
    op.drop_column("users", "address_postal")


def downgrade() -> None:
    """Put each user's address back into the three users columns, then drop addresses."""
    # TODO: task 4. Refuse (raise RuntimeError) when a user has more than one address.
    op.add_column("users", sa.Column("address_street", sa.String(200)))
    op.add_column("users", sa.Column("address_city", sa.String(100)))
    op.add_column("users", sa.Column("address_postal", sa.String(20)))
    # TODO: task 3. Copy each user's address back into the three columns.
    op.drop_table("addresses")
