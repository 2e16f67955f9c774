"""Database engine and transactions; SQLite by default, serialized writes via BEGIN IMMEDIATE."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from central_server.models import Base, Office

SQLITE_BUSY_TIMEOUT_S = 30.0


class Database:
    """One engine plus a session factory; every unit of work is one `transaction()`."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            in_memory = parsed.database in (None, "", ":memory:")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
            if in_memory:
                kwargs["poolclass"] = StaticPool  # one shared connection: single-threaded use only
            else:
                Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _serialize_sqlite_transactions(self.engine, wal=not in_memory)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session inside one transaction: commit on success, roll back on error."""
        with self.sessions.begin() as session:
            yield session

    def create_all(self, offices: tuple[tuple[str, str], ...]) -> None:
        """Create the tables and insert the offices that do not exist yet."""
        Base.metadata.create_all(self.engine)
        with self.transaction() as session:
            for code, name in offices:
                if session.get(Office, code) is None:
                    session.add(Office(code=code, name=name))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


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
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
