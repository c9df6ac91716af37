"""NOT NULL, step 2: check the existing rows, while the app keeps reading and writing.

Revision ID: 0005_validate
Revises: 0004_not_valid
Create Date: 2026-01-12 09:00:00.000000

VALIDATE CONSTRAINT takes SHARE UPDATE EXCLUSIVE: it scans the table, but neither reads nor writes
wait for it. It must run in a later transaction than 0004's ADD CONSTRAINT.
"""

from alembic import op

revision = "0005_validate"
down_revision = "0004_not_valid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 4. VALIDATE the constraint that 0004_not_valid added.
    pass


def downgrade() -> None:
    pass
