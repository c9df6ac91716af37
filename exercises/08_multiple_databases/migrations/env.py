"""Alembic's environment, still for ONE database: make it migrate main or analytics.

The revisions in versions/ already hold both databases' changes (upgrade_main(),
upgrade_analytics()); this env.py does not yet know that there are two databases.
"""

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from app.models import MainBase

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# TODO: one URL variable and one MetaData per database, chosen with `-x db=main|analytics`
# (no default); an unknown or missing name stops with an error that names main and analytics.
target_metadata = MainBase.metadata


def run_migrations_offline() -> None:
    # TODO: the chosen database's URL and metadata, and run_migrations(engine_name=...).
    context.configure(
        url=os.environ["DATABASE_URL"],
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # TODO: the chosen database's URL and metadata, and run_migrations(engine_name=...).
    engine = create_engine(os.environ["DATABASE_URL"], poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
