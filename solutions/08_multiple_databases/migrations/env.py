"""Alembic's environment for two databases: `-x db=main` or `-x db=analytics` picks one.

Each database has its own URL (MAIN_DATABASE_URL, ANALYTICS_DATABASE_URL), its own models'
MetaData and its own alembic_version table. Every revision has an upgrade_main() and an
upgrade_analytics(): `context.run_migrations(engine_name=...)` runs only the chosen database's.
"""

import os
from logging.config import fileConfig

from alembic import context
from alembic.util import CommandError
from sqlalchemy import MetaData, create_engine, pool

from app.models import AnalyticsBase, MainBase

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# name -> (the variable that holds its URL, the MetaData of its models)
DATABASES: dict[str, tuple[str, MetaData]] = {
    "main": ("MAIN_DATABASE_URL", MainBase.metadata),
    "analytics": ("ANALYTICS_DATABASE_URL", AnalyticsBase.metadata),
}


def chosen_database() -> str:
    """The `-x db=NAME` of this command; no default, so nobody migrates `main` by accident."""
    name = context.get_x_argument(as_dictionary=True).get("db")
    if name not in DATABASES:
        # The seed's if/elif left `url` unbound here (UnboundLocalError): say what is valid.
        given = "no -x db=..." if name is None else f"-x db={name}"
        valid = " or ".join(f"-x db={known}" for known in DATABASES)
        raise CommandError(f"Unknown database ({given}): use {valid}.")
    return name


def database_url(name: str) -> str:
    variable = DATABASES[name][0]
    url = os.environ.get(variable)
    if not url:
        raise CommandError(f"{variable} is not set: it holds the URL of the {name} database.")
    return url


def run_migrations_offline(name: str) -> None:
    """Write the SQL of one database: its URL only picks the dialect; nothing connects."""
    context.configure(
        url=database_url(name),
        target_metadata=DATABASES[name][1],
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations(engine_name=name)


def run_migrations_online(name: str) -> None:
    engine = create_engine(database_url(name), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=DATABASES[name][1],
            # autogenerate writes this database's operations into upgrade_<name>()
            upgrade_token=f"{name}_upgrades",
            downgrade_token=f"{name}_downgrades",
        )
        with context.begin_transaction():
            context.run_migrations(engine_name=name)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline(chosen_database())
else:
    run_migrations_online(chosen_database())
