"""The app's models (SQLAlchemy 2.0 declarative style), as they are for the next release.

The database is at 0002_create_profiles. Since then the team changed these models; the places
that changed are marked `# TODO:` with the README's task. Autogenerate a revision for them, then
review it: it gets some of them wrong and cannot see others.
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
    # TODO: task 4. New: the database fills created_at itself (it had no default before).
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # TODO: task 4. New column; existing users get true.
    is_active: Mapped[bool] = mapped_column(server_default=true())


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        # TODO: task 4. New CHECK; the naming convention names it ck_profiles_display_name_length.
        CheckConstraint("char_length(display_name) <= 80", name="display_name_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    # TODO: task 2. Renamed from fullname: every profile keeps its name.
    display_name: Mapped[str | None] = mapped_column(Text)
    bio: Mapped[str | None] = mapped_column(Text)
    # TODO: task 3. New column of a new PostgreSQL enum type, profile_visibility.
    visibility: Mapped[Visibility] = mapped_column(
        Enum(Visibility, name="profile_visibility"), server_default="public"
    )
