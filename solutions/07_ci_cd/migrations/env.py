"""Alembic's environment: connect to DATABASE_URL and run the revisions, one replica at a time.

Every replica of the app runs `alembic upgrade head` when it starts (scripts/entrypoint.sh). Task 3:
the upgrade takes a PostgreSQL advisory lock first, so replicas that start together migrate one
after the other; the next one then finds the database at head and has nothing to do.
"""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool, text

from app.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = Base.metadata
MIGRATION_LOCK = 7007  # the README's key: every replica must use the same number


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: run this through `course alembic 07 -- ...`.")
    return url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            # Held until this transaction ends; Alembic reads the current revision after it, so a
            # replica that waited here sees the head the first one reached and has nothing to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
