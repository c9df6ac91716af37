"""NOT NULL, step 2: check the existing rows, while the app keeps reading and writing.

Revision ID: 0005_validate
Revises: 0004_not_valid
Create Date: 2026-01-12 09:00:00.000000

VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE: it scans the table, but neither reads nor writes
wait for it. It must run in a later transaction than 0004's ADD CONSTRAINT, whose ACCESS EXCLUSIVE
lock would otherwise still be held during the scan.
"""

from alembic import op

revision = "0005_validate"
down_revision = "0004_not_valid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    # Reads and writes go on while it scans: SHARE UPDATE EXCLUSIVE conflicts with neither.
    op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_address_not_null")


def downgrade() -> None:
    pass  # a validated constraint stays correct; 0004_not_valid's downgrade drops it
