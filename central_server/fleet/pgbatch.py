"""PostgreSQL heartbeat batch in ONE statement: token check, upsert, sample, command pick-up.

A batch used to cost six round trips (BEGIN, token SELECT, upsert, sample INSERT, command
UPDATE, COMMIT); under CPU contention every round trip waits for the scheduler. Data-modifying
CTEs do it all in one autocommit statement (one transaction, one commit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TextClause, bindparam, make_url, text

from central_server.fleet.models import KioskState

BEFORE_ROW = -1  # the command id column's marker for a row of `old` (seen, problems before)
# Looked up by URL: the dialect classes themselves have no annotated constructor.
PSYCOPG = make_url("postgresql+psycopg://").get_dialect()()


def _statement() -> TextClause:
    table = KioskState.__table__
    dialect = PSYCOPG
    names = [c.name for c in table.columns]
    arrays = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in table.columns
    )
    cols = ", ".join(names)
    picked = ", ".join(f"b.{n}" for n in ("token_hash", *names))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in ("kiosk_id", "history_at"))
    return text(
        f"WITH batch AS (SELECT * FROM unnest(CAST(:token_hash AS VARCHAR[]), {arrays}) "
        f"AS b(token_hash, {cols})), "
        f"valid AS (SELECT {picked} FROM batch b JOIN kiosks k "
        "ON k.kiosk_id = b.kiosk_id AND k.token_hash = b.token_hash), "
        # The states before this batch, for the alert history: every part of one statement sees
        # the same snapshot, so this reads them as they were before `up` overwrites them.
        "old AS (SELECT s.kiosk_id, s.last_seen, s.problems FROM kiosk_states s "
        "JOIN valid v ON v.kiosk_id = s.kiosk_id), "
        f"up AS (INSERT INTO kiosk_states ({cols}) SELECT {cols} FROM valid ORDER BY kiosk_id "
        f"ON CONFLICT (kiosk_id) DO UPDATE SET {updates}, history_at = CASE WHEN "
        "kiosk_states.history_at < :cutoff THEN EXCLUDED.history_at "
        "ELSE kiosk_states.history_at END RETURNING kiosk_id, history_at), "
        "sampled AS (INSERT INTO kiosk_samples "
        "(kiosk_id, at, disk_free_pct, cpu_temp_c, outbox_depth, held_submissions, severity) "
        "SELECT v.kiosk_id, :now, v.disk_free_pct, v.cpu_temp_c, v.outbox_depth, "
        "v.held_submissions, v.severity "
        "FROM valid v JOIN up ON up.kiosk_id = v.kiosk_id WHERE up.history_at = :now), "
        "sent AS (UPDATE fleet_commands SET status = 'sent', sent_at = :now "
        "WHERE status = 'queued' AND kiosk_id IN (SELECT kiosk_id FROM valid) "
        "RETURNING id, kiosk_id, kind, args_json) "
        "SELECT kiosk_id, NULL::integer, NULL::varchar, token_hash::text FROM valid "
        "UNION ALL SELECT kiosk_id, id, kind, args_json FROM sent "
        f"UNION ALL SELECT kiosk_id, {BEFORE_ROW}, problems, "
        "CAST(extract(epoch FROM last_seen) AS text) FROM old"
    ).bindparams(
        bindparam("cutoff", type_=table.c.history_at.type),
        bindparam("now", type_=table.c.history_at.type),
    )


BATCH_STATEMENT = _statement()
# The same statement as psycopg SQL (%(name)s placeholders): executed on the driver's cursor, it
# skips SQLAlchemy's per-execution result set-up (~8% of the writer thread in the profile).
BATCH_SQL = str(BATCH_STATEMENT.compile(dialect=PSYCOPG))


def parameters(rows: list[dict[str, Any]], now: Any, cutoff: Any) -> dict[str, Any]:
    """Column arrays of state rows (each with its token_hash) plus the batch's times."""
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    return {**columns, "now": now, "cutoff": cutoff}
