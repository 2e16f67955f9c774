"""Alembic migrations on a real PostgreSQL give exactly the schema of the models."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text

from central_server.db import Database, load_models
from central_server.embedded import start_embedded
from central_server.fleet.models import KioskState
from central_server.models import Kiosk, Office
from central_server.queue.display import call_lookup
from tests.central.conftest import ADMIN_TOKEN, BACKENDS, OFFICE
from tests.central.fleet.helpers import beat, enrol, kiosks
from tests.central.postgres import TemporaryPostgres

ROOT = Path(__file__).resolve().parents[2]


def alembic(url: str, *args: str) -> None:
    """Run the alembic command line from the repository root (alembic.ini)."""
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={url}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


def differences(url: str) -> list[object]:
    """What autogenerate would still change to reach the models' metadata."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), load_models()))
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    """Table names of a database."""
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_matches_create_all_and_downgrades(postgres: TemporaryPostgres) -> None:
    migrated = postgres.url(postgres.create_database())
    alembic(migrated, "upgrade", "head")
    assert differences(migrated) == []  # every table, column, index and constraint covered
    created = postgres.url(postgres.create_database())
    engine = create_engine(created)
    try:
        load_models().create_all(engine)
    finally:
        engine.dispose()
    assert differences(created) == []
    assert tables(migrated) - {"alembic_version"} == tables(created)
    assert {"kiosk_states", "fleet_commands", "applications"} <= tables(created)
    alembic(migrated, "downgrade", "base")
    assert tables(migrated) == {"alembic_version"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_of_an_older_version_takes_held_submissions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """At 0005 with a kiosk's state: starting the server adds the column (PostgreSQL by its
    migration, a SQLite file by create_all); the old row reads 0, new heartbeats store counts."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'central.db'}"
    else:
        postgres: TemporaryPostgres = request.getfixturevalue("postgres")
        url = postgres.url(postgres.create_database())
    alembic(url, "upgrade", "0005_kiosk_alerts")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            now = datetime.now(UTC)
            conn.execute(Office.__table__.insert(), {"code": OFFICE, "name": "Jombang"})
            conn.execute(
                Kiosk.__table__.insert(),
                {
                    "kiosk_id": "old",
                    "office_code": OFFICE,
                    "name": "Lobi",
                    "token_hash": "0" * 64,
                    "registered_at": now.isoformat(),
                },
            )
            conn.execute(
                KioskState.__table__.insert(),
                {
                    "kiosk_id": "old",
                    "last_seen": now,
                    "app_version": "0.1.0",
                    "uptime_s": 1.0,
                    "disk_free_pct": 50.0,
                    "disk_free_bytes": 1 << 40,
                    "cpu_temp_c": None,
                    "last_transaction_at": None,
                    "outbox_depth": 0,
                    "devices_json": "{}",
                    "problems": "",
                    "severity": 0,
                    "history_at": now,
                },
            )
    finally:
        engine.dispose()
    with start_embedded(url, admin_token=ADMIN_TOKEN, open_enrolment=True) as server:
        assert beat(server, enrol(server, "new"), held_submissions=4).status_code == 200
        fleet = kiosks(server)
    assert (fleet["old"]["held_submissions"], fleet["new"]["held_submissions"]) == (0, 4)
    assert fleet["new"]["alerts"] == ["held_submissions"]


def indexes(url: str, table: str) -> set[str]:
    """Index names of a table."""
    engine = create_engine(url)
    try:
        return {str(index["name"]) for index in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def test_the_display_voice_lookup_has_its_index_on_postgresql(postgres: TemporaryPostgres) -> None:
    """0013 indexes queue events on (office, day, calling number), what the voice's lookup
    (queue.display.was_called) filters on, and downgrading drops it; with a month of one
    office's events analysed, the lookup's plan reads that index."""
    url = postgres.url(postgres.create_database())
    alembic(url, "upgrade", "0012_seal_key_approval")
    assert CALL_INDEX not in indexes(url, "queue_events")
    alembic(url, "upgrade", "head")
    assert CALL_INDEX in indexes(url, "queue_events")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(Office.__table__.insert(), {"code": OFFICE, "name": "Jombang"})
            conn.execute(
                text(
                    "INSERT INTO queue_events (office_code, day, kind, calling_number,"
                    " counter_number, actor, note, at)"
                    " SELECT :office, DATE '2026-11-01' + g % 30,"
                    " (ARRAY['checkin', 'call', 'finish'])[g % 3 + 1],"
                    " 'A' || lpad((g / 30 % 400)::text, 3, '0'), g % 8 + 1, 'petugas', '', ''"
                    " FROM generate_series(1, 36000) AS g"
                ),
                {"office": OFFICE},
            )
            conn.execute(text("ANALYZE queue_events"))
        plan = voice_lookup_plan(engine, "EXPLAIN")
    finally:
        engine.dispose()
    assert CALL_INDEX in plan, plan
    alembic(url, "downgrade", "0012_seal_key_approval")
    assert CALL_INDEX not in indexes(url, "queue_events")


def test_the_display_voice_lookup_has_its_index_on_sqlite(tmp_path: Path) -> None:
    """SQLite has no migrations: an older database file gets the index when the server starts
    (Database.create_all), and the lookup's plan reads it; 0013 itself goes up and down."""
    url = f"sqlite:///{tmp_path / 'central.db'}"
    db = Database(url)
    try:
        db.create_all(())
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {CALL_INDEX}"))  # a file from before 0013
        db.create_all(())
        assert CALL_INDEX in indexes(url, "queue_events")
        assert CALL_INDEX in voice_lookup_plan(db.engine, "EXPLAIN QUERY PLAN")
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {CALL_INDEX}"))
    finally:
        db.dispose()
    alembic(url, "stamp", "0012_seal_key_approval")
    alembic(url, "upgrade", "0013_queue_call_index")  # later revisions' tables exist already
    assert CALL_INDEX in indexes(url, "queue_events")
    alembic(url, "downgrade", "0012_seal_key_approval")
    assert CALL_INDEX not in indexes(url, "queue_events")


CALL_INDEX = "ix_queue_events_call"


def voice_lookup_plan(engine: Engine, explain: str) -> str:
    """The plan of the voice's lookup (queue.display.call_lookup), one line per row."""
    query = call_lookup(OFFICE, "A123", 3, date(2026, 11, 15))
    with engine.connect() as conn:
        sql = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        rows = conn.execute(text(f"{explain} {sql}"))
        return "\n".join(" ".join(str(cell) for cell in row) for row in rows)
