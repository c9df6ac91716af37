"""The app's models once the feature is done (SQLAlchemy 2.0 declarative style).

`customers` was created before the team used Alembic; the lesson's database already has it, with
1,000 rows and the old columns `name` and `phone`. The feature renames `name` to `display_name`
and moves the phone number into its own table. Run `alembic revision --autogenerate` against
these models and read what it writes before you trust it: it cannot tell a rename from a drop.
"""

from sqlalchemy import BigInteger, ForeignKey, Identity, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id"), primary_key=True
    )
    phone: Mapped[str] = mapped_column(Text)
