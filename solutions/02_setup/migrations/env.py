"""Alembic's environment, async: the URL comes from DATABASE_URL, never from alembic.ini.

Online mode runs an async engine under asyncio.run() and hands Alembic a connection inside
connection.run_sync(); offline mode (--sql) only needs the URL to know which SQL dialect to write.
"""

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.models import Base

config = context.config

# disable_existing_loggers=False: the app's own loggers (created when app.models was imported
# above) keep working; the default would silence every logger alembic.ini does not name.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# The app's models: what autogenerate and `alembic check` compare with the database.
target_metadata = Base.metadata


def database_url() -> str:
    """DATABASE_URL, or stop: never fall back to a URL in alembic.ini (it may name production)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: export it, or run `course alembic 02 -- ...`.")
    return url


def run_migrations_offline() -> None:
    """Write the SQL instead of running it: the URL only picks the dialect; nothing connects."""
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Runs inside run_sync(): `connection` is a sync facade over the async connection."""
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # Passed straight to the engine: never through config.set_main_option(), where a `%` in a
    # URL-encoded password breaks ConfigParser's interpolation.
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    """An async engine needs an event loop: asyncio.run() starts one and runs the coroutine."""
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
