"""Database engine and transactions: SQLite by default (BEGIN IMMEDIATE), PostgreSQL in prod."""

from __future__ import annotations

import functools
import importlib
import logging
import pkgutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateColumn

from central_server.models import Base, Office

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 30.0
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_ID = 0x616E6A75  # pg_advisory lock key: one migrating process at a time


def normalize_url(url: str) -> str:
    """Map plain postgresql:// URLs to the psycopg 3 driver (psycopg2 is not used)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def load_models() -> MetaData:
    """Import every central_server module so that all tables are in Base.metadata."""
    import central_server

    for module in pkgutil.walk_packages(central_server.__path__, "central_server."):
        leaf = module.name.rsplit(".", 1)[-1]
        if ".migrations" in module.name or leaf.startswith("__"):
            continue
        importlib.import_module(module.name)
    return Base.metadata


class Database:
    """One engine plus a session factory; every unit of work is one `transaction()`."""

    def __init__(self, url: str) -> None:
        url = normalize_url(url)
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgresql = parsed.get_backend_name() == "postgresql"
        kwargs: dict[str, Any] = {}
        in_memory = False
        if self.is_sqlite:
            in_memory = parsed.database in (None, "", ":memory:")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
            if in_memory:
                kwargs["poolclass"] = StaticPool  # one shared connection: single-threaded use only
            else:
                Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        elif self.is_postgresql:
            kwargs.update(pool_size=10, max_overflow=20, pool_recycle=1800, pool_timeout=10)
        # An error's message carries no bound values (a NIK, a name): tracebacks reach the log.
        self.engine = create_engine(url, hide_parameters=True, **kwargs)
        if self.is_sqlite:
            _serialize_sqlite_transactions(self.engine, wal=not in_memory)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: commit on success, roll back on error."""
        with self.sessions.begin() as session:
            yield session

    def create_all(self, offices: tuple[tuple[str, str], ...]) -> None:
        """Bring the schema up to date and insert the offices that do not exist yet.

        PostgreSQL is migrated with Alembic (one process at a time); SQLite uses create_all.
        """
        metadata = load_models()
        if self.is_postgresql:
            with self.engine.begin() as connection:
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID}
                )
                if _current_revision(connection) != head_revision():
                    upgrade(connection)
                _create_missing_tables(connection, metadata)
                _fix_data(connection)
        else:
            metadata.create_all(self.engine)
            with self.engine.begin() as connection:
                _add_missing_columns(connection, metadata)
                _add_missing_indexes(connection, metadata)
                _fix_data(connection)
        with self.transaction() as session:
            for code, name in offices:
                if session.get(Office, code) is None:
                    session.add(Office(code=code, name=name))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def alembic_config(url: str | None = None) -> Any:
    """An Alembic Config pointing at central_server/migrations (no alembic.ini needed)."""
    from alembic.config import Config  # alembic loads only where PostgreSQL is migrated

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Run `alembic upgrade` on an open connection (inside the caller's transaction)."""
    from alembic import command  # as above: SQLite servers (kiosk sidecars) never load it

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


@functools.cache
def head_revision() -> str | None:
    """The newest migration of central_server/migrations."""
    from alembic.script import ScriptDirectory  # as above

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    if connection.scalar(text("SELECT to_regclass('alembic_version')")) is None:
        return None
    version = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return None if version is None else str(version)


def _create_missing_tables(connection: Connection, metadata: MetaData) -> None:
    """Safety net for tables the migrations do not cover yet; the migration test flags them."""
    existing = set(inspect(connection).get_table_names())
    missing = [t for t in metadata.sorted_tables if t.name not in existing]
    if missing:
        log.warning(
            "tables not covered by migrations, created directly: %s (add a migration)",
            ", ".join(t.name for t in missing),
        )
        metadata.create_all(connection, tables=missing)


def _add_missing_columns(connection: Connection, metadata: MetaData) -> None:
    """SQLite has no migrations: columns added later (each with a server default, or nullable)
    are added to tables of an existing database file, as the PostgreSQL migrations add them.
    (A column's UNIQUE constraint cannot be added this way: on SQLite, where transactions are
    serial, the code checks before inserting anyway.)"""
    inspector = inspect(connection)
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            addable = column.server_default is not None or column.nullable
            if column.name not in have and addable and not column.primary_key:
                ddl = CreateColumn(column).compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
                log.info("added column %s.%s", table.name, column.name)


def _add_missing_indexes(connection: Connection, metadata: MetaData) -> None:
    """SQLite has no migrations: indexes added later are made on an existing database file
    (create_all makes a table's indexes only with the table), as the migrations add them."""
    inspector = inspect(connection)
    for table in metadata.sorted_tables:
        have = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in have:
                index.create(connection)
                log.info("added index %s on %s", index.name, table.name)


def _fix_data(connection: Connection) -> None:
    """What a data migration fixes, fixed again at each start (idempotent, finding nothing the
    second time): a SQLite file has no migrations, and during a rolling upgrade an app server
    still running the older code may have made more such rows after the migration ran. Now:
    migration 0018's queue places left open by code from before an application decided on its page
    ended them."""
    from central_server.queue.stale import end_decided_places

    end_decided_places(connection)


def _serialize_sqlite_transactions(engine: Any, *, wal: bool) -> None:
    """Make every SQLite transaction take the write lock up front (BEGIN IMMEDIATE).

    pysqlite's own implicit BEGIN is deferred, so two writers could read the same counter
    value; BEGIN IMMEDIATE makes read-then-write sequences (counters, quotas, idempotency
    look-ups) serial across threads and processes. Concurrent callers wait (busy timeout).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if wal:
            _set_wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _set_wal(cursor: Any, attempts: int = 50) -> None:
    """Switch a SQLite database to WAL. The switch takes a lock SQLite's busy handler does not
    wait for, so processes opening a new database together (server workers) retry briefly."""
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))
