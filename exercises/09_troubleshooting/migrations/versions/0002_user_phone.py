"""add users.phone (Ben's branch, written in parallel with Ana's)

Revision ID: 0002_user_phone
Revises: 0001_create_users
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_user_phone"
down_revision = "0001_create_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("phone", sa.String(30)))


def downgrade() -> None:
    op.drop_column("users", "phone")
