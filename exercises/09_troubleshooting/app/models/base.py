"""The declarative base whose `metadata` autogenerate and `alembic check` compare with the database."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
