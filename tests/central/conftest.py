"""Fixtures: a real central server on 127.0.0.1:<free port>, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, text

from central_server.db import Database
from central_server.embedded import EmbeddedServer, start_embedded
from central_server.settings import DEFAULT_OFFICES
from kiosk_app.central import CentralClient
from tests.central.postgres import TemporaryPostgres, find_binary

TODAY = date(2026, 11, 19)  # a Thursday: next working days are Fri 20, Mon 23, ...
ADMIN_TOKEN = "test-admin-token-0123456789"
OFFICE = "3517"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    """One PostgreSQL cluster for the whole run (fsync off), deleted at the end."""
    if not (find_binary("initdb") and find_binary("pg_ctl")):
        pytest.skip("PostgreSQL server not installed (apt: postgresql-15)")
    with TemporaryPostgres() as server:
        yield server


@pytest.fixture(scope="session")
def pg_database(postgres: TemporaryPostgres) -> str:
    """A database migrated to head once for the run; tests empty it (TRUNCATE) before use."""
    name = postgres.create_database()
    db = Database(postgres.url(name))
    try:
        db.create_all(DEFAULT_OFFICES)
    finally:
        db.dispose()
    return postgres.url(name)


def empty_database(url: str) -> None:
    """Delete every row of every table but alembic_version (faster than a new database)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            tables = conn.scalars(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename <> 'alembic_version'"
                )
            ).all()
            if tables:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a temporary SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    url: str = request.getfixturevalue("pg_database")
    empty_database(url)
    yield url


@pytest.fixture
def db_path(database_url: str) -> str:
    """The server's database (kept under its old name: tests pass it to count_rows)."""
    return database_url


@pytest.fixture
def server(database_url: str) -> Iterator[EmbeddedServer]:
    """A running embedded central server with a fixed calendar (open kiosk enrolment)."""
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, open_enrolment=True
    ) as running:
        yield running


@pytest.fixture
def client(server: EmbeddedServer) -> Iterator[CentralClient]:
    """A registered kiosk client."""
    kiosk = CentralClient(server.base_url, "kiosk-01", OFFICE, timeout=10)
    kiosk.register("Anjungan lobi utama")
    yield kiosk
    kiosk.close()


def count_rows(db: Path | str, table: str = "applications") -> int:
    """Count rows straight from the database (SQLite path or any SQLAlchemy URL)."""
    if isinstance(db, Path):
        with closing(sqlite3.connect(db)) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def two_numbers_left_today(db: str | URL) -> None:
    """Set OFFICE's registration-number counter for TODAY two short of its last number (9999)."""
    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO counters (name, value) VALUES (:n, 9997)"),
                {"n": f"reg:{OFFICE}:{TODAY}"},
            )
    finally:
        engine.dispose()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    """Poll until predicate() holds (the notification outbox worker runs on its own thread);
    the deadline is a hang detector for a busy machine: a passing wait ends when it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)
