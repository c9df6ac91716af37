"""The app's models (SQLAlchemy 2.0 declarative style), as they are at the head revision.

Revisions never import this module: it describes the schema of *today*, and a revision must keep
working on the schema of *its* day (see the lesson's notebook).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    # 0002_full_name: "Ana García", "" when there is no name part; never NULL.
    full_name: Mapped[str] = mapped_column(String(200))

    # 0003_split_addresses moved users.address_street/_city/_postal here.
    addresses: Mapped[list[Address]] = relationship(back_populates="user")


class Address(Base):
    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="addresses")
