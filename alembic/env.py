"""Alembic environment of yangd's commit log (SQLite and PostgreSQL).

The database URL, first found wins:
  1. ``config.attributes["url"]``: set by datastore.store.Store when yangd upgrades on start;
  2. ``alembic -x url=...`` on the command line;
  3. the ``YANGD_DB_URL`` environment variable;
  4. ``sqlalchemy.url`` in alembic.ini (empty in the shipped file).

The engine comes from datastore.db.make_engine(migrating=True): the same SQLite pragmas as
yangd, but foreign keys off (batch table copies must not cascade) and BEGIN IMMEDIATE, so
two yangd processes starting at once on one file migrate one after the other. On
PostgreSQL a transaction-scoped advisory lock does the same for several instances.
``render_as_batch`` lets autogenerate emit SQLite-safe ALTERs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic import context
from sqlalchemy import text

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `alembic upgrade head` by hand, from any directory
    sys.path.insert(0, str(REPO))

from datastore.db import PG_MIGRATION_LOCK, VERSION_TABLE, Base, make_engine  # noqa: E402

config = context.config
if config.config_file_name is not None and not config.attributes.get("url"):
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

def database_url() -> str:
    url = (
        config.attributes.get("url")
        or context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("YANGD_DB_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set YANGD_DB_URL")
    return str(url)


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        version_table=VERSION_TABLE,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url(), migrating=True)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                version_table=VERSION_TABLE,
                render_as_batch=True,
                compare_type=True,
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK}
                    )
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
