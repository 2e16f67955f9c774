"""Fixtures: a real central server on 127.0.0.1:<free port> backed by a temporary SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest

from central_server.embedded import EmbeddedServer, start_embedded
from kiosk_app.central import CentralClient

TODAY = date(2026, 11, 19)  # a Thursday: next working days are Fri 20, Mon 23, ...
ADMIN_TOKEN = "test-admin-token-0123456789"
OFFICE = "3517"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of the server's SQLite file."""
    return tmp_path / "central.db"


@pytest.fixture
def server(db_path: Path) -> Iterator[EmbeddedServer]:
    """A running embedded central server with a fixed calendar."""
    with start_embedded(
        f"sqlite:///{db_path}", today=lambda: TODAY, admin_token=ADMIN_TOKEN
    ) as running:
        yield running


@pytest.fixture
def client(server: EmbeddedServer) -> Iterator[CentralClient]:
    """A registered kiosk client."""
    kiosk = CentralClient(server.base_url, "kiosk-01", OFFICE, timeout=10)
    kiosk.register("Anjungan lobi utama")
    yield kiosk
    kiosk.close()


def count_rows(db_path: Path, table: str = "applications") -> int:
    """Count rows straight from the SQLite file, bypassing the server."""
    with closing(sqlite3.connect(db_path)) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
