"""The app's models, in two databases: each base has its own MetaData.

`MainBase` holds what the app reads and writes on every request; `AnalyticsBase` holds the page
views and daily statistics, kept in a database of their own. A table of one never appears in the
other, so there is no foreign key between them: `PageView.user_id` is a plain integer.
"""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class MainBase(DeclarativeBase):
    """The app's database (MAIN_DATABASE_URL)."""


class AnalyticsBase(DeclarativeBase):
    """The analytics database (ANALYTICS_DATABASE_URL)."""


class User(MainBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))


class Order(MainBase):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class PageView(AnalyticsBase):
    __tablename__ = "page_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None]
    path: Mapped[str] = mapped_column(String(500))
    viewed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DailyStat(AnalyticsBase):
    __tablename__ = "daily_stats"

    day: Mapped[date] = mapped_column(primary_key=True)
    views: Mapped[int] = mapped_column(server_default="0")
