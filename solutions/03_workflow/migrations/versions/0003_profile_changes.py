"""profile changes

Revision ID: 0003_profile_changes
Revises: 0002_create_profiles
Create Date: 2026-01-26 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0003_profile_changes"
down_revision: Union[str, Sequence[str], None] = "0002_create_profiles"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# One object for both directions: add_column does not create the type, drop_column does not drop it.
visibility = sa.Enum("public", "members", "private", name="profile_visibility")


def upgrade() -> None:
    """Upgrade schema."""
    # A rename, not add_column + drop_column: every profile keeps its name.
    op.alter_column("profiles", "fullname", new_column_name="display_name")
    # Autogenerate never compares CHECK constraints; op.f() keeps the name exactly as written.
    op.create_check_constraint(
        op.f("ck_profiles_display_name_length"), "profiles", "char_length(display_name) <= 80"
    )
    visibility.create(op.get_bind())
    op.add_column(
        "profiles",
        sa.Column("visibility", visibility, server_default="public", nullable=False),
    )
    op.add_column(
        "users",
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
    )
    # Autogenerate does not compare server defaults (compare_server_default is off by default).
    op.alter_column(
        "users",
        "created_at",
        existing_type=sa.DateTime(timezone=True),
        server_default=sa.text("now()"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.alter_column(
        "users", "created_at", existing_type=sa.DateTime(timezone=True), server_default=None
    )
    op.drop_column("users", "is_active")
    op.drop_column("profiles", "visibility")
    visibility.drop(op.get_bind())
    op.drop_constraint(op.f("ck_profiles_display_name_length"), "profiles", type_="check")
    op.alter_column("profiles", "display_name", new_column_name="fullname")
