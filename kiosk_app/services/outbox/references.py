"""The kiosk's local references (LOK-<kiosk>-<yymmdd>-<seq>), one per outbox row: never the
same twice, even after the outbox file was lost or rebuilt, because the day's counter also
lives in a file of its own beside it (<outbox>-references.db)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from kiosk_app.services.durable import open_durable

_COUNTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class References:
    """The day's LOK counter of one kiosk's outbox; used inside the outbox's transaction (the
    outbox's lock serialises it)."""

    def __init__(self, outbox_path: Path, kiosk_id: str) -> None:
        """Open (or create) the counter file beside the outbox at `outbox_path`."""
        self.kiosk_id = kiosk_id
        # A lost or damaged outbox must not hand a new citizen a reference another citizen
        # already holds.
        self._counter = open_durable(
            outbox_path.with_name(outbox_path.stem + "-references.db"), _COUNTER_SCHEMA
        )

    def close(self) -> None:
        """Close the counter file."""
        self._counter.close()

    def next(self, db: sqlite3.Connection, now: datetime) -> str:
        """The next LOK reference of the day: one past what the outbox or the counter file
        saw last, whichever is higher; the counter file is committed first (a crash between the
        two skips a number, never repeats one)."""
        day = now.strftime("%y%m%d")
        name = f"seq:{day}"
        row = db.execute("SELECT value FROM outbox_meta WHERE name=?", (name,)).fetchone()
        counted = self._counter.execute(
            "SELECT value FROM counters WHERE name=?", (name,)
        ).fetchone()
        # The day's meta value moves with every row in one transaction; only without it (a
        # fresh or rebuilt outbox) do the rows themselves need scanning.
        stored = int(row[0]) if row else self._highest(db, day)
        seq = max(stored, int(counted[0]) if counted else 0) + 1
        self._counter.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name)"
            " DO UPDATE SET value=excluded.value",
            (name, seq),
        )
        db.execute(
            "INSERT INTO outbox_meta (name, value) VALUES (?, ?) ON CONFLICT(name)"
            " DO UPDATE SET value=excluded.value",
            (name, str(seq)),
        )
        return f"LOK-{self.kiosk_id}-{day}-{seq:04d}"

    def _highest(self, db: sqlite3.Connection, day: str) -> int:
        """The highest sequence number of `day` among the rows (recovered rows included)."""
        prefix = f"LOK-{self.kiosk_id}-{day}-"
        row = db.execute(
            "SELECT max(CAST(substr(local_reference, ?) AS INTEGER)) FROM outbox"
            " WHERE substr(local_reference, 1, ?) = ?",
            (len(prefix) + 1, len(prefix), prefix),
        ).fetchone()
        return int(row[0] or 0)
