"""Contract: drop the sync trigger, its function, then users.email.

Revision ID: 0006_contract
Revises: 0005_validate
Create Date: 2026-01-12 09:00:00.000000

Deployed only once every running release is v2, which never touches email: the golden rule is to
drop a column only after the code stopped using it.
"""

from alembic import op

revision = "0006_contract"
down_revision = "0005_validate"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # TODO: task 5. A lock_timeout, then drop the trigger, its function, and only then email.
    pass


def downgrade() -> None:
    pass
