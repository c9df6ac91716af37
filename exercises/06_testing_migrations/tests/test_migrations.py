"""Tests for this project's migration history.

The course runs them with a fresh, empty database for every test (`database_url`; DATABASE_URL
points at it too) and pytest-alembic's `alembic_runner` bound to that database.
"""

import sqlalchemy as sa
from pytest_alembic import MigrationContext

# TODO: task 1: pytest-alembic's four standard tests; task 2: a stairway test; task 3: a test
# that every name survives 0004, up and down. See the README.


def rows(engine: sa.Engine, column: str) -> list[tuple]:
    """(id, column) of every user, in id order: e.g. rows(alembic_engine, "display_name")."""
    with engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT id, {column} FROM users ORDER BY id")).all()
