"""Contract: drop customers.name and customers.phone.

Revision ID: 0003_contract
Revises: 0002_backfill
Create Date: 2026-11-25 09:00:00.000000

Deployed only once every running release is v3, which never touches name or phone: a column is
dropped only after the code stopped using it. The downgrade puts both columns back, filled from
display_name and customer_phones, so a rollback loses nothing that v3 wrote either.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_contract"
down_revision = "0002_backfill"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.drop_column("customers", "name")
    op.drop_column("customers", "phone")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.add_column("customers", sa.Column("name", sa.Text()))
    op.add_column("customers", sa.Column("phone", sa.Text()))
    op.execute("UPDATE customers SET name = display_name")
    op.execute(
        "UPDATE customers AS c SET phone = p.phone FROM customer_phones AS p "
        "WHERE p.customer_id = c.id"
    )
