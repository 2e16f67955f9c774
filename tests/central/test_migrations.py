"""Alembic migrations on a real PostgreSQL give exactly the schema of the models."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from central_server.db import load_models
from central_server.embedded import start_embedded
from central_server.fleet.models import KioskState
from central_server.models import Kiosk, Office
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
