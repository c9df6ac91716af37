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
    # num_nonnulls() > 0, not `street IS NOT NULL`: a user with only a city keeps the city.
    op.execute(
        """
        INSERT INTO addresses (user_id, street, city, postal_code)
        SELECT id, address_street, address_city, address_postal
        FROM users
        WHERE num_nonnulls(address_street, address_city, address_postal) > 0
        ORDER BY id
        """
    )
    op.drop_column("users", "address_street")
    op.drop_column("users", "address_city")
    op.drop_column("users", "address_postal")


def downgrade() -> None:
    """Put each user's address back into the three users columns, then drop addresses."""
    # Three columns hold one address: refuse rather than keep one and silently drop the others.
    several = op.get_bind().execute(
        sa.text(
            """
            SELECT count(*) FROM (
                SELECT user_id FROM addresses GROUP BY user_id HAVING count(*) > 1
            ) AS users_with_several
            """
        )
    ).scalar_one()
    if several:
        raise RuntimeError(
            f"{several} users have more than one address, and users.address_* can hold only one: "
            "this downgrade would lose addresses. Merge or delete the extra ones first."
        )
    op.add_column("users", sa.Column("address_street", sa.String(200)))
    op.add_column("users", sa.Column("address_city", sa.String(100)))
    op.add_column("users", sa.Column("address_postal", sa.String(20)))
    # Each user has at most one address now, so UPDATE ... FROM matches at most one row per user.
    op.execute(
        """
        UPDATE users AS u
        SET address_street = a.street, address_city = a.city, address_postal = a.postal_code
        FROM addresses AS a
        WHERE a.user_id = u.id
        """
    )
    op.drop_table("addresses")
