"""The queue's open places have their own index (migration 0021, ix_arrivals_open): the
clean-up every server start runs under the migration lock (queue.stale.end_decided_places, from
Database.create_all) and the read of who each counter serves (queue.counters.
serving_at_open_counters) read it instead of every arrival ever recorded.

On PostgreSQL: a database at the revision before, upgraded by the real alembic command line,
given years of finished arrivals and a few open places, analysed; a server start ends the
decided open places as before, and the plan of the very statement it sent (EXPLAIN with its own
parameters) reads the index, not the table; downgraded, the same statement's plan is a Seq Scan
(what the test tells apart). On SQLite (no migrations): a file from before gets the index at
start, and both reads use it; the migration itself goes up and down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event, func, select, text

from central_server.db import Database, alembic_config
from central_server.queue.counters import serving_at_open_counters
from central_server.queue.models import QueueEvent
from tests.central.conftest import OFFICE
from tests.central.postgres import TemporaryPostgres
from tests.central.test_migrations import alembic, indexes

OPEN_INDEX = "ix_arrivals_open"
REVISION = "0021_arrivals_open_index"
FINISHED = 40_000  # arrivals done (the planner prefers the index long before that)
OPEN = 6  # then open places: waiting, called, set aside; every other one already rejected
COUNTERS = 8

SEED = (
    "INSERT INTO offices (code, name) VALUES (:office, 'Jombang')",
    "INSERT INTO kiosks (kiosk_id, office_code, name, token_hash, registered_at)"
    " VALUES ('lobi', :office, 'Lobi', repeat('0', 64), '')",
    "INSERT INTO queue_counters (id, office_code, number, services, officer, is_open, opened_at)"
    " SELECT g, :office, g, 'akta_kelahiran', 'petugas', true, ''"
    " FROM generate_series(1, :counters) AS g",
    "INSERT INTO applications (id, registration_number, queue_number, kiosk_id, idempotency_key,"
    " request_hash, office_code, service, status, applicant_nik, applicant_name, data_json,"
    " slot_date, slot_window, created_at, response_json)"
    " SELECT g, 'REG-' || g, 'A-' || lpad((g % 400 + 1)::text, 3, '0'), 'lobi', 'key-' || g, '',"
    " :office, 'akta_kelahiran',"
    " CASE WHEN g <= :finished THEN 'verified' WHEN g % 2 = 0 THEN 'approved' ELSE 'rejected'"
    " END, '3517014501200001', 'Siti Aminah', '{}', DATE '2024-01-01' + g / 400, '08.00-11.00',"
    " '', '{}' FROM generate_series(1, :finished + :open) AS g",
    "INSERT INTO arrivals (application_id, office_code, day, sequence, arrived_at, service,"
    " state, counter_id, calls, called_at, finished_at)"
    " SELECT g, :office, DATE '2024-01-01' + g / 400, g % 400, '2024-01-01T08:00:00+07:00',"
    " 'akta_kelahiran', s.state, CASE WHEN s.state = 'called' THEN g % :counters + 1 END,"
    " 1, '2024-01-01T08:30:00+07:00', CASE WHEN s.state = 'done' THEN"
    " '2024-01-01T08:45:00+07:00' END"
    " FROM generate_series(1, :finished + :open) AS g, LATERAL (SELECT CASE WHEN g <= :finished"
    " THEN 'done' ELSE (ARRAY['waiting', 'called', 'no_show'])[g % 3 + 1] END AS state) AS s",
)


def seed_old_arrivals(engine: Engine, finished: int, open_places: int = OPEN) -> None:
    """An office's years of arrivals on PostgreSQL: `finished` done, then `open_places` still
    open (every other one's application rejected: the clean-up's), the tables analysed."""
    values = {"office": OFFICE, "finished": finished, "open": open_places, "counters": COUNTERS}
    with engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement), values)
        conn.execute(text("ANALYZE"))


def revision_before() -> str:
    """The revision 0021 follows (whatever the migrations chain it after)."""
    script = ScriptDirectory.from_config(alembic_config()).get_revision(REVISION)
    assert script is not None and isinstance(script.down_revision, str)
    return script.down_revision


@contextmanager
def sent(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and their parameters) the engine sends while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def reading(seen: list[tuple[str, Any]], marker: str) -> tuple[str, Any]:
    """The one statement sent that reads the arrivals and contains `marker`."""
    [found] = [(s, p) for s, p in seen if marker in s and re.search(r"(FROM|JOIN) arrivals", s)]
    return found


def plan(engine: Engine, explain: str, statement: tuple[str, Any]) -> str:
    """The plan of a statement as sent, with its own parameters; one line per row."""
    sql, parameters = statement
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"{explain} {sql}", parameters)
        return "\n".join(" ".join(str(cell) for cell in row) for row in rows)


def open_places(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [
            (row.application_id, row.status)
            for row in conn.execute(
                text(
                    "SELECT application_id, status FROM arrivals JOIN applications"
                    " ON applications.id = application_id WHERE state <> 'done'"
                    " ORDER BY application_id"
                )
            )
        ]


def test_the_start_up_clean_up_reads_only_the_open_places_on_postgresql(
    postgres: TemporaryPostgres,
) -> None:
    url = postgres.url(postgres.create_database())
    before = revision_before()
    alembic(url, "upgrade", before)
    assert OPEN_INDEX not in indexes(url, "arrivals")
    alembic(url, "upgrade", "head")
    assert OPEN_INDEX in indexes(url, "arrivals")
    db = Database(url)
    try:
        seed_old_arrivals(db.engine, FINISHED)
        assert len(open_places(db.engine)) == OPEN
        with sent(db.engine) as seen:
            db.create_all(())  # a server start: the clean-up under the migration lock
        clean_up = reading(seen, "FOR UPDATE OF arrivals")
        # As before: the decided places ended, each with its finish event; the others open.
        assert [status for _id, status in open_places(db.engine)] == ["approved"] * (OPEN // 2)
        with db.transaction() as session:
            finishes = select(func.count()).where(QueueEvent.kind == "finish")
            assert session.scalar(finishes) == OPEN // 2
            with sent(db.engine) as seen:
                shown = serving_at_open_counters(session, OFFICE)
            # one called citizen still approved (the rejected one's counter is free now)
            assert (len(shown), sum(1 for _c, current in shown if current)) == (COUNTERS, 1)
        counters_read = reading(seen, "queue_counters")
        for statement in (clean_up, counters_read):
            shape = plan(db.engine, "EXPLAIN", statement)
            assert OPEN_INDEX in shape and "Seq Scan on arrivals" not in shape, shape
        alembic(url, "downgrade", before)
        assert OPEN_INDEX not in indexes(url, "arrivals")
        shape = plan(db.engine, "EXPLAIN", clean_up)
        assert "Seq Scan on arrivals" in shape, shape  # what the code read before 0021
    finally:
        db.dispose()


def test_the_start_up_clean_up_reads_only_the_open_places_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    db = Database(url)
    try:
        db.create_all(())
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {OPEN_INDEX}"))  # a file from before 0021
        with sent(db.engine) as seen:
            db.create_all(())
        assert OPEN_INDEX in indexes(url, "arrivals")
        clean_up = reading(seen, "JOIN applications")
        with db.transaction() as session, sent(db.engine) as seen:
            assert serving_at_open_counters(session, OFFICE) == []
        counters_read = reading(seen, "queue_counters")
        for statement in (clean_up, counters_read):
            shape = plan(db.engine, "EXPLAIN QUERY PLAN", statement)
            assert f"USING INDEX {OPEN_INDEX}" in shape, shape
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {OPEN_INDEX}"))
        assert "SCAN arrivals" in plan(db.engine, "EXPLAIN QUERY PLAN", clean_up)
    finally:
        db.dispose()
    before = revision_before()
    alembic(url, "stamp", before)
    alembic(url, "upgrade", REVISION)  # later revisions' tables exist already
    assert OPEN_INDEX in indexes(url, "arrivals")
    alembic(url, "downgrade", before)
    assert OPEN_INDEX not in indexes(url, "arrivals")
