"""Alembic migrations on a real PostgreSQL give exactly the schema of the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from central_server.db import load_models
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
