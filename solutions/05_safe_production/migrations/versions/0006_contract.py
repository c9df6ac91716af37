"""Contract: drop the sync trigger, its function, then users.email.

Revision ID: 0006_contract
Revises: 0005_validate
Create Date: 2026-01-12 09:00:00.000000

Deployed only once every running release is v2, which never touches email: the golden rule is to
drop a column only after the code stopped using it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_contract"
down_revision = "0005_validate"
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
    op.execute("SET LOCAL lock_timeout = '300ms'")
    # The trigger's function reads NEW.email: drop it before the column, or every write fails.
    op.execute("DROP TRIGGER users_sync_email ON users")
    op.execute("DROP FUNCTION users_sync_email()")
    op.drop_column("users", "email")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '300ms'")
    op.add_column("users", sa.Column("email", sa.Text()))
    op.execute(SYNC_FUNCTION)
    op.execute(SYNC_TRIGGER)
    op.execute("UPDATE users SET email = email_address")
