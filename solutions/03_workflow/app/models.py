"""The app's models (SQLAlchemy 2.0 declarative style), as they are for the next release.

Revision 0003_profile_changes brings the database from 0002_create_profiles to these models; the
comments say what it had to do by hand.
"""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Enum, ForeignKey, MetaData, Text, func, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Every constraint and index gets a predictable name, so a revision can drop it by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Visibility(enum.Enum):
    public = "public"
    members = "members"
    private = "private"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    # The server default is new in 0003: autogenerate does not compare server defaults.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # New in 0003; the server default fills the existing rows, so NOT NULL holds at once.
    is_active: Mapped[bool] = mapped_column(server_default=true())


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        # New in 0003: autogenerate never compares CHECK constraints, so 0003 adds it by hand.
        CheckConstraint("char_length(display_name) <= 80", name="display_name_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # Renamed from fullname in 0003 with alter_column: add + drop would lose every name.
    display_name: Mapped[str | None] = mapped_column(Text)
    bio: Mapped[str | None] = mapped_column(Text)
    # New in 0003, which creates the enum type first and drops it in its downgrade.
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, name="profile_visibility"), server_default="public"
    )
