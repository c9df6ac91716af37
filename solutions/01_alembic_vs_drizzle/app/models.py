"""The app's models (SQLAlchemy 2.0 declarative style)."""

from sqlalchemy import CHAR, ForeignKey, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Author(Base):
    """Created before the team used Alembic; the lesson's database already has it."""

    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(CHAR(2))


class AuthorSlug(Base):
    """One URL slug per author, e.g. /authors/jose-nunez."""

    __tablename__ = "author_slugs"

    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
