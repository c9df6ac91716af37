"""Expand: add users.email_address next to email, kept in sync both ways by a trigger.

Revision ID: 0001_expand
Revises:
Create Date: 2026-01-12 09:00:00.000000

Not yet. Below is the change as it was first written: users.email renamed to email_address, made
NOT NULL and indexed, all at once. Three lines that run in a blink on an empty table and take a
busy production database down: the README explains why, and how to spread them over six safe
revisions, of which this file becomes the first.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_expand"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 1. Make this the expand step: a lock_timeout, then email_address added next to
    # email, with a trigger that keeps both in sync. Move the NOT NULL and the index to 0003-0005.
    op.alter_column("users", "email", new_column_name="email_address")
    op.alter_column("users", "email_address", existing_type=sa.Text(), nullable=False)
    op.create_index("ix_users_email_address", "users", ["email_address"])


def downgrade() -> None:
    op.drop_index("ix_users_email_address", table_name="users")
    op.alter_column("users", "email_address", existing_type=sa.Text(), nullable=True)
    op.alter_column("users", "email_address", new_column_name="email")
