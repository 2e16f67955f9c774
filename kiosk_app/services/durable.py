"""SQLite opened for things the kiosk must never lose (outbox, print journal)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def open_durable(
    path: Path | str, schema: str, *, secure_delete: bool = False
) -> sqlite3.Connection:
    """WAL with synchronous=FULL: a committed row is on disk even after a power cut."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    if secure_delete:
        db.execute("PRAGMA secure_delete=ON")  # wiped personal data is zeroed, not just freed
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    return db


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
