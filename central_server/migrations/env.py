"""Alembic environment: the central server's metadata, URL from -x url=, env or alembic.ini."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from central_server.db import load_models, normalize_url

config = context.config
target_metadata = load_models()


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("ANJUNGAN_DATABASE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise RuntimeError("give a database URL: -x url=... or ANJUNGAN_DATABASE_URL")
    return normalize_url(url)


def run_offline() -> None:
    """Emit SQL to stdout (alembic upgrade --sql)."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate through the caller's connection (Database.create_all) or a new one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
