"""SQLite opened for things the kiosk must never lose (outbox, print journal, survey queue).

A file SQLite cannot read is never silently replaced: it is moved aside and kept (named in an
ERROR line and in the health report), a fresh file takes its place, and every row still
readable is copied back, row by row. A file that cannot be
written (read-only or missing folder, full disk) keeps the kiosk up: the store opens empty in
memory, every write raises `StorageError` naming the file, and the health report says why.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
MAX_ROWID = 1 << 40  # far past any kiosk's rows: the end of a damaged table's seek
# Problems, as the health report names them (the fleet raises "storage_fault" for each).
DAMAGED, UNWRITABLE, FULL = "damaged", "unwritable", "full"
NO_KEY = "no_key"  # the outbox key is missing or unreadable: nothing personal can be stored
_WRITE_PROBLEMS = (
    ("database or disk is full", FULL),
    ("no space left", FULL),
    ("readonly database", UNWRITABLE),
    ("read-only", UNWRITABLE),
    ("unable to open database file", UNWRITABLE),
    ("disk i/o error", UNWRITABLE),
    ("not authorized", UNWRITABLE),  # the in-memory stand-in refuses every write
)


class StorageError(sqlite3.OperationalError):
    """A durable file cannot be written (or opened for writing); says which file and why."""

    def __init__(self, path: Path, problem: str, detail: str) -> None:
        super().__init__(f"{path}: {problem} ({detail})")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class StorageEvent:
    """What happened to one durable file, for the technician."""

    file: str
    problem: str
    detail: str
    at: str


FILES_FIT = 200  # characters of a device's status value the health report keeps


class StorageHealth:
    """The kiosk's durable files as one health-report entry ("storage")."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, StorageEvent] = {}

    def report(self, path: Path, problem: str, detail: str) -> None:
        """Remember the newest problem of `path` and log it for the technician."""
        event = StorageEvent(
            path.name, problem, detail[:300], datetime.now(UTC).isoformat(timespec="seconds")
        )
        with self._lock:
            known = self._events.get(str(path))
            self._events[str(path)] = event
        if known is None or known.problem != problem:
            log.error("storage %s: %s: %s", problem, path, detail)

    def writable_again(self, path: Path) -> None:
        """`path` took a write: a full or unwritable problem of it is over (damage stays)."""
        with self._lock:
            known = self._events.get(str(path))
            if known is None or known.problem == DAMAGED:
                return
            del self._events[str(path)]
        log.warning("storage %s: writable again", path)

    def events(self) -> list[StorageEvent]:
        """Every file's newest problem, by file name."""
        with self._lock:
            return sorted(self._events.values(), key=lambda e: e.file)

    def status(self) -> dict[str, str]:
        """Driver-style status: state ok | damaged | unwritable | full | no_key, and the files."""
        events = self.events()
        if not events:
            return {"state": "ok"}
        worst = next(
            (p for p in (FULL, UNWRITABLE, NO_KEY, DAMAGED) if any(e.problem == p for e in events)),
            DAMAGED,
        )
        files = "; ".join(f"{e.file}: {e.problem}: {e.detail}" for e in events)
        if len(files) > FILES_FIT:  # the heartbeat keeps 200 characters: every file's name first
            files = "; ".join(f"{e.file}: {e.problem}" for e in events) + f" | {files}"
        return {"state": worst, "files": files}

    def clear(self) -> None:
        """Forget every problem (a test's fresh start; a technician's repair)."""
        with self._lock:
            self._events.clear()


# One kiosk-wide record: every store reports into it and the health reporter reads it.
STORAGE = StorageHealth()


class DurableConnection(sqlite3.Connection):
    """A connection whose write failures are StorageErrors naming the file."""

    path: Path = Path()
    failing: int | None = None  # total_changes when a write failed; None while writes work

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        """sqlite3's execute; a failed write raises StorageError."""
        try:
            cursor = super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise self._translated(exc) from exc
        if (
            self.failing is not None
            and not self.in_transaction
            and (self.total_changes > self.failing)
        ):
            self.failing = None  # a write reached the file since the failure
            STORAGE.writable_again(self.path)
        return cursor

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        """sqlite3's executemany; a failed write raises StorageError."""
        try:
            return super().executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise self._translated(exc) from exc

    def commit(self) -> None:
        """sqlite3's commit; a failed write raises StorageError."""
        try:
            super().commit()
        except sqlite3.DatabaseError as exc:
            raise self._translated(exc) from exc

    def _translated(self, exc: sqlite3.DatabaseError) -> sqlite3.DatabaseError:
        if isinstance(exc, StorageError):
            return exc
        problem = write_problem(exc)
        if problem is None:
            if "malformed" in str(exc):  # found at run time: moved aside at the next start
                STORAGE.report(self.path, DAMAGED, str(exc))
            return exc
        self.failing = self.total_changes
        STORAGE.report(self.path, problem, str(exc))
        return StorageError(self.path, problem, str(exc))


def write_problem(exc: BaseException) -> str | None:
    """FULL or UNWRITABLE when `exc` says the disk refused a write, else None."""
    text = str(exc).lower()
    return next((problem for needle, problem in _WRITE_PROBLEMS if needle in text), None)


def open_durable(
    path: Path | str, schema: str, *, secure_delete: bool = False
) -> sqlite3.Connection:
    """WAL with synchronous=FULL: a committed row is on disk even after a power cut."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        problem = _damage(path)
        if problem is None:
            try:
                return _connect(path, schema, secure_delete)
            except sqlite3.DatabaseError as exc:
                if write_problem(exc) is not None:
                    raise
                problem = str(exc)
        return _replace_damaged(path, schema, secure_delete, problem)
    except (OSError, sqlite3.DatabaseError) as exc:
        found = write_problem(exc) or UNWRITABLE
        STORAGE.report(path, found, f"cannot open for writing: {exc}")
        return _stand_in(path, schema)


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE ... COMMIT, ROLLBACK on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


# -- opening ------------------------------------------------------------------------------------


def _connect(path: Path, schema: str, secure_delete: bool) -> sqlite3.Connection:
    """Open `path`, check it and apply the schema (sqlite3.DatabaseError when damaged)."""
    db = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, factory=DurableConnection
    )
    assert isinstance(db, DurableConnection)
    db.path = path
    db.text_factory = _lenient_text
    try:
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        if secure_delete:
            db.execute("PRAGMA secure_delete=ON")  # wiped personal data is zeroed, not just freed
        db.execute("PRAGMA foreign_keys=ON")
        # integrity_check, not quick_check: only it sees a damaged row that its index misses.
        verdict = db.execute("PRAGMA integrity_check(5)").fetchone()[0]
        if verdict != "ok":
            first = str(verdict).splitlines()[-1][:200]  # the last line names the page
            raise sqlite3.DatabaseError(f"integrity_check: {first}")
        db.executescript(schema)
    except BaseException:
        db.close()
        raise
    return db


def _damage(path: Path) -> str | None:
    """Why the file at `path` is not a usable database, or None (also when it does not exist)."""
    if not path.exists():
        return None
    size = path.stat().st_size
    wal = _sidecar(path, "-wal")
    if size == 0:
        if wal.exists() and wal.stat().st_size > 0:
            return None  # a crash before the first checkpoint: SQLite replays the WAL
        return "empty file (0 bytes) where a database was"
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        return "not an SQLite database (header damaged)"
    return None


def _replace_damaged(
    path: Path, schema: str, secure_delete: bool, problem: str
) -> sqlite3.Connection:
    """Keep the damaged file aside, start a fresh one and copy back every readable row."""
    kept = keep_aside(path) or path.with_name(f"{path.name}.damaged-missing")
    db = _connect(path, schema, secure_delete)
    recovered, unreadable = _salvage(kept, db)
    summary = ", ".join(f"{table} {n}" for table, n in sorted(recovered.items())) or "none"
    detail = f"{problem}; kept as {kept.name}; rows recovered: {summary}" + (
        f"; rows unreadable: {unreadable}" if unreadable else ""
    )
    STORAGE.report(path, DAMAGED, detail)
    return db


def sync_folder(folder: Path) -> None:
    """fsync a folder, so that names made, moved or removed in it survive a power cut (an
    fsync of a file makes its bytes durable, not its name)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(source: Path, target: Path) -> None:
    """`os.replace(source, target)`, durable: the folders of both names are synced after."""
    os.replace(source, target)
    sync_folder(target.parent)
    if source.parent.resolve() != target.parent.resolve():
        sync_folder(source.parent)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` whole or not at all, durably: a temporary file beside it is
    written and synced, then renamed over it and the folder synced. A failed write (full disk)
    removes the temporary file and raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a half-written copy on a full disk frees its space
        raise


def keep_aside(path: Path, why: str = DAMAGED) -> Path | None:
    """Move a damaged file (with SQLite's -wal and -shm) to `<name>.<why>-<UTC time>`, never
    deleting it (nor one kept before); the new name, or None when there was nothing to move."""
    if not path.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    kept = path.with_name(f"{path.name}.{why}-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = _sidecar(path, suffix)
        if source.exists():
            shutil.move(str(source), str(_sidecar(kept, suffix)))
    return kept


def set_aside_damaged(path: Path, why: str, then: str = "") -> Path | None:
    """Keep a damaged file aside (keep_aside) and report it DAMAGED, saying where it went and
    `then`, what follows; a folder refusing the move (read-only) leaves it where it is, reported
    so, never an OSError at the kiosk's start. The new name, or None when it was not moved."""
    try:
        kept = keep_aside(path)
    except OSError as exc:
        STORAGE.report(path, DAMAGED, f"{why}; not kept aside: {exc}")
        return None
    STORAGE.report(path, DAMAGED, f"{why}; kept as {kept.name if kept else '-'}{then}")
    return kept


def _salvage(kept: Path, db: sqlite3.Connection) -> tuple[dict[str, int], int]:
    """Copy every row still readable in `kept` into `db`; (rows per table, rows unreadable).

    Debian's sqlite3 command cannot `.recover` (its build lacks the page reader), so rows are
    read one at a time by rowid: a damaged page costs the rows on it, not the ones after it."""
    recovered: dict[str, int] = {}
    unreadable = 0
    if not kept.exists() or kept.stat().st_size == 0:
        return recovered, unreadable
    try:
        old = sqlite3.connect(f"file:{kept}?mode=ro", uri=True)
    except sqlite3.DatabaseError as exc:
        log.warning("rows of %s cannot be read: %s", kept, exc)
        return recovered, unreadable
    try:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            count, lost = _copy_rows(old, db, table)
            recovered[table] = count
            unreadable += lost
    finally:
        old.close()
    return recovered, unreadable


def _copy_rows(old: sqlite3.Connection, db: sqlite3.Connection, table: str) -> tuple[int, int]:
    """Copy `table`'s readable rows from `old` into `db`, seeking past damaged pages."""
    try:
        have = {r[1] for r in old.execute(f'PRAGMA table_info("{table}")')}
    except sqlite3.DatabaseError:
        return 0, 0  # the schema itself is unreadable: nothing to seek by
    shared = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[1] in have]
    if not shared:
        return 0, 0
    names = ", ".join(f'"{c}"' for c in shared)
    insert = f'INSERT OR IGNORE INTO "{table}" ({names}) VALUES ({", ".join("?" * len(shared))})'
    select = f'SELECT rowid, {names} FROM "{table}" WHERE rowid > ? ORDER BY rowid LIMIT 1'
    last, copied, lost, skip = 0, 0, 0, 1
    while last < MAX_ROWID:
        try:
            row = old.execute(select, (last,)).fetchone()
        except sqlite3.DatabaseError:
            lost += 1
            # Past the damaged page, doubling the jump: a table whose every seek fails ends
            # within ~40 tries (a capped jump took millions, stalling the start); the first
            # seek that works again returns the first readable row past the jump.
            last, skip = last + skip, skip * 2
            continue
        if row is None:
            break
        skip = 1
        last = int(row[0])
        try:
            copied += db.execute(insert, tuple(row[1:])).rowcount
        except sqlite3.DatabaseError:
            lost += 1  # recovered values that break a constraint of the fresh file
    return copied, lost


def _stand_in(path: Path, schema: str) -> sqlite3.Connection:
    """An empty in-memory database with `schema` that refuses every write (StorageError)."""
    db = sqlite3.connect(
        ":memory:", isolation_level=None, check_same_thread=False, factory=DurableConnection
    )
    assert isinstance(db, DurableConnection)
    db.path = path
    db.text_factory = _lenient_text
    db.row_factory = sqlite3.Row
    db.executescript(schema)
    db.set_authorizer(_read_only)
    return db


def _read_only(action: int, *_: object) -> int:
    """SQLite authorizer: reads and transactions pass, any change is denied."""
    denied = {
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_UPDATE,
        sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_ALTER_TABLE,
    }
    return sqlite3.SQLITE_DENY if action in denied else sqlite3.SQLITE_OK


def _lenient_text(raw: bytes) -> str:
    """Text columns decode with U+FFFD for damaged bytes: one damaged row must not stop a read
    of the others (the stores set such rows aside)."""
    return raw.decode("utf-8", "replace")


def _sidecar(path: Path, suffix: str) -> Path:
    """`path` with SQLite's -wal / -shm suffix ('' for the file itself)."""
    return path.with_name(path.name + suffix)
