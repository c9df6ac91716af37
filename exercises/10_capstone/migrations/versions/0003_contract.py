"""Contract: drop customers.name and customers.phone.

Revision ID: 0003_contract
Revises: 0002_backfill
Create Date: 2026-11-25 09:00:00.000000

Deployed only once every running release is v3, which never touches name or phone.
"""

import sqlalchemy as sa  # noqa: F401  (you will need it)
from alembic import op  # noqa: F401

revision = "0003_contract"
down_revision = "0002_backfill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 3. Drop the old columns, now that no release uses them.
    pass


def downgrade() -> None:
    # TODO: task 4. Put name and phone back, filled from display_name and customer_phones.
    pass
