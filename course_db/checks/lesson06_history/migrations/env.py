"""Alembic's environment: run the revisions on the connection a test hands over, or DATABASE_URL.

pytest-alembic hands its engine to env.py through `config.attributes["connection"]` (Alembic's
documented channel for this); every other caller (the `alembic` command, `command.upgrade` in a
test) migrates DATABASE_URL, which the course sets to a fresh database for every test.
The URL never comes from alembic.ini (the seed's tests set `sqlalchemy.url`: this env.py, like the
seed's, ignores it, which is the lesson's first bug).
"""

import os
from logging.config import fileConfig

from alembic import context
from app.models import Base
from sqlalchemy import Connection, create_engine, pool

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: run this through `course alembic 06 -- ...`.")
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


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        do_run_migrations(given)
        return
    engine = given or create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        do_run_migrations(connection)
    if given is None:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
