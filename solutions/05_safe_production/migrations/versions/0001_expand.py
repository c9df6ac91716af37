"""Expand: add users.email_address next to email, kept in sync both ways by a trigger.

Revision ID: 0001_expand
Revises:
Create Date: 2026-01-12 09:00:00.000000

v1 of the app (running while this deploys) keeps using email; v2 will use email_address. Until
0006_contract, every write to either column is copied into the other one, so both releases can run
side by side during a rolling deploy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_expand"
down_revision = None
branch_labels = None
depends_on = None

SYNC_FUNCTION = """
CREATE FUNCTION users_sync_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.email_address := COALESCE(NEW.email_address, NEW.email);
        NEW.email := COALESCE(NEW.email, NEW.email_address);
    ELSIF NEW.email IS DISTINCT FROM OLD.email THEN
        NEW.email_address := NEW.email;
    ELSIF NEW.email_address IS DISTINCT FROM OLD.email_address THEN
        NEW.email := NEW.email_address;
    END IF;
    RETURN NEW;
END
$$
"""
SYNC_TRIGGER = """
CREATE TRIGGER users_sync_email BEFORE INSERT OR UPDATE ON users
FOR EACH ROW EXECUTE FUNCTION users_sync_email()
"""


def upgrade() -> None:
    # Give up after 300 ms instead of making every app query queue behind this ALTER TABLE.
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.add_column("users", sa.Column("email_address", sa.Text()))
    # Copy whichever column a write set into the other one, in both directions.
    op.execute(SYNC_FUNCTION)
    op.execute(SYNC_TRIGGER)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.execute("DROP TRIGGER users_sync_email ON users")
    op.execute("DROP FUNCTION users_sync_email()")
    op.drop_column("users", "email_address")
