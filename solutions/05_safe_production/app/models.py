"""The app's model once the change is done (SQLAlchemy 2.0 declarative style).

`users` was created before the team used Alembic; the lesson's database already has it, with
100,000 rows. v1 of the app used `email`; v2 uses `email_address`, indexed and never NULL.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email_address IS NOT NULL", name="users_email_address_not_null"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_address: Mapped[str | None] = mapped_column(Text, index=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
