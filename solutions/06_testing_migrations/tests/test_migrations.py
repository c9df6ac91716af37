"""Tests for this project's migration history.

The course runs them with a fresh, empty database for every test (`database_url`; DATABASE_URL
points at it too) and pytest-alembic's `alembic_runner` bound to that database.
"""

import sqlalchemy as sa
from pytest_alembic import MigrationContext

# Imported, pytest collects pytest-alembic's standard tests as if they were written here.
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]

USERS = [
    {"id": 1, "email": "ana@example.com", "name": "Ana García"},
    {"id": 2, "email": "luis@example.com", "name": None},
    {"id": 3, "email": "zoe@example.com", "name": "Zoë 山田"},
]
NAMES = [(user["id"], user["name"]) for user in USERS]


def rows(engine: sa.Engine, column: str) -> list[tuple]:
    """(id, column) of every user, in id order: e.g. rows(alembic_engine, "display_name")."""
    with engine.connect() as connection:
        return connection.execute(sa.text(f"SELECT id, {column} FROM users ORDER BY id")).all()


def test_stairway(alembic_runner: MigrationContext) -> None:
    """Every revision goes up, down and up again: a downgrade that leaves a table, an index or a
    constraint behind makes the second upgrade fail."""
    while alembic_runner.roundtrip_next_revision():
        pass


def test_rename_keeps_every_name(
    alembic_runner: MigrationContext, alembic_engine: sa.Engine
) -> None:
    """Names written before 0004 are all there after it, and after its downgrade: the schema
    alone cannot show that a migration dropped a column and added an empty one."""
    alembic_runner.migrate_up_to("0003_index_posts_user_id")
    alembic_runner.insert_into("users", USERS)
    alembic_runner.migrate_up_to("0004_rename_name")
    assert rows(alembic_engine, "display_name") == NAMES
    alembic_runner.migrate_down_one()
    assert rows(alembic_engine, "name") == NAMES
