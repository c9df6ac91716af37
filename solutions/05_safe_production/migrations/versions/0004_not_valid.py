"""NOT NULL, step 1: a CHECK that every new or changed row must meet; old rows are not scanned.

Revision ID: 0004_not_valid
Revises: 0003_index
Create Date: 2026-01-12 09:00:00.000000

`SET NOT NULL` scans all 100,000 rows while holding ACCESS EXCLUSIVE. Adding the CHECK as NOT VALID
holds that lock only for a catalog update; 0005_validate checks the old rows later, under a lock
that lets the app read and write.
"""

from alembic import op

revision = "0004_not_valid"
down_revision = "0003_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    # NOT VALID: no scan now, so ACCESS EXCLUSIVE is held only for a moment.
    op.create_check_constraint(
        "users_email_address_not_null",
        "users",
        "email_address IS NOT NULL",
        postgresql_not_valid=True,
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.drop_constraint("users_email_address_not_null", "users", type_="check")
