"""PostgreSQL heartbeat batch in ONE statement: token check, upsert, sample, command hand-out.

A batch used to cost six round trips (BEGIN, token SELECT, upsert, sample INSERT, command
UPDATE, COMMIT); under CPU contention every round trip waits for the scheduler. Data-modifying
CTEs do it all in one autocommit statement (one transaction, one commit).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from sqlalchemy import TextClause, bindparam, make_url, text

from central_server.fleet.alerts import UNACKNOWLEDGED
from central_server.fleet.models import KioskState

BEFORE_ROW = -1  # the command id column's marker for a row of `old` (seen, problems before)
# Looked up by URL: the dialect classes themselves have no annotated constructor.
PSYCOPG = make_url("postgresql+psycopg://").get_dialect()()


def _statement() -> TextClause:
    table = KioskState.__table__
    dialect = PSYCOPG
    names = [c.name for c in table.columns]
    types = ", ".join(f"{c.name} {c.type.compile(dialect=dialect)}" for c in table.columns)
    cols = ", ".join(names)
    picked = ", ".join(f"b.{n}" for n in ("token_hash", "received", *names))
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in ("kiosk_id", "history_at"))
    return text(
        # The batch arrives as one JSON array of rows: psycopg dumps one string instead of a
        # list per column (its array dumper, pure Python, was ~15% of a worker's CPU).
        f"WITH batch AS (SELECT * FROM json_to_recordset(CAST(:rows AS json)) "
        f"AS b(token_hash VARCHAR, received INTEGER[], {types})), "
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
        # Commands (heartbeats.py's docstring): those a kiosk names as received are marked so
        # (`held`, only for kiosks naming any); the queued ones and, for a kiosk that names what
        # it holds (`received` not NULL), those without a result it does not name go out
        # (again). Disjoint rows: one statement may not update a row twice. `status IN` keeps
        # the (kiosk_id, status) index walking the unfinished commands only, and leaves out the
        # cancelled ones: a cancellation holding the row (FleetService.cancel) makes the UPDATE
        # wait, and PostgreSQL checks `status` again on the row it committed.
        "held AS (UPDATE fleet_commands c SET status = 'received' FROM valid v "
        "WHERE cardinality(v.received) > 0 AND c.kiosk_id = v.kiosk_id AND c.status = 'sent' "
        "AND c.id = ANY(v.received) RETURNING c.kiosk_id, c.sent_at), "
        # Those handed out before :late (alerts.UNACKNOWLEDGED_AFTER ago) were unacknowledged
        # until now: the spell goes into the alert history (alerts.unacknowledged_spell).
        "late AS (INSERT INTO kiosk_alerts (kiosk_id, code, raised_at, cleared_at) "
        f"SELECT kiosk_id, '{UNACKNOWLEDGED}', sent_at + (:now - :late), :now FROM held "
        "WHERE sent_at < :late), "
        "sent AS (UPDATE fleet_commands c SET status = 'sent', "
        "sent_at = coalesce(c.sent_at, :now), deliveries = c.deliveries + 1 FROM valid v "
        "WHERE c.kiosk_id = v.kiosk_id AND c.status IN ('queued', 'sent', 'received') "
        "AND (c.status = 'queued' OR NOT c.id = ANY(v.received)) "
        "RETURNING c.id, c.kiosk_id, c.kind, c.args_json, c.created_at), "
        # A batch that hands out no command commits without waiting for its WAL flush: kiosks
        # send a heartbeat every minute and retry, so a crash losing the last moments of
        # kiosk states and samples costs nothing (the next heartbeat writes them again). A
        # batch that hands out commands waits as usual: a lost `sent` would hand them out as
        # new (an older kiosk, which keeps no record of what it ran, would run them twice).
        "durability AS (SELECT set_config('synchronous_commit', "
        "CASE WHEN EXISTS (SELECT 1 FROM sent) THEN 'on' ELSE 'off' END, true) AS mode) "
        "SELECT kiosk_id, NULL::integer, NULL::varchar, token_hash::text, NULL::timestamptz "
        "FROM valid "
        "CROSS JOIN durability "
        "UNION ALL SELECT kiosk_id, id, kind, args_json, created_at FROM sent "
        f"UNION ALL SELECT kiosk_id, {BEFORE_ROW}, problems, "
        "CAST(extract(epoch FROM last_seen) AS text), NULL FROM old"
    ).bindparams(
        bindparam("cutoff", type_=table.c.history_at.type),
        bindparam("now", type_=table.c.history_at.type),
        bindparam("late", type_=table.c.history_at.type),
    )


BATCH_STATEMENT = _statement()
# The same statement as psycopg SQL (%(name)s placeholders): executed on the driver's cursor, it
# skips SQLAlchemy's per-execution result set-up (~8% of the writer thread in the profile).
BATCH_SQL = str(BATCH_STATEMENT.compile(dialect=PSYCOPG))


# Slot lease usage reports (central_server.lease_reports.record in one autocommit statement on
# the writer's connection, for the kiosks whose report the memo cannot skip: fleet/lease_memo.py):
# `named` their reported counts, `kiosks` their ids. A named lease is written when its count
# grew or this is the first report after its booking time; a kiosk's lease past its booking
# time that its report does not name is settled (final: unused, or its last count). Both updates
# see the same snapshot, so the second leaves out the named leases itself. Rows back: per kiosk
# its next booking time still ahead of `at` (until then the same report changes nothing).
_NAMED_DUE = (  # as lease_reports._REPORT: a higher count, or the first report past book_until
    "(l.reported_used IS NULL OR l.reported_used < r.n "
    "OR (l.reported_at <= l.book_until AND l.book_until < %(at)s))"
)
_UNNAMED_DUE = (  # as lease_reports._unnamed
    "(l.book_until < %(at)s AND (l.reported_at IS NULL OR l.reported_at <= l.book_until) "
    "AND l.day > %(begun)s AND l.places > l.used)"
)
LEASE_SQL = (
    "WITH r AS (SELECT * FROM json_to_recordset(CAST(%(named)s AS json)) "
    "AS r(kid VARCHAR, lid VARCHAR, n INTEGER)), "
    "k AS (SELECT unnest(CAST(%(kiosks)s AS VARCHAR[])) AS kid), "
    # The lock order (central_server.leases): the rows to write locked first, in id order.
    # `= ANY` of the array, not a join with `k`: the planner then walks each kiosk's leases by
    # index (joined, it scanned the whole table).
    "locked AS (SELECT l.id, r.n FROM slot_leases l LEFT JOIN r "
    "ON r.lid = l.id AND r.kid = l.kiosk_id "
    "WHERE l.kiosk_id = ANY(CAST(%(kiosks)s AS VARCHAR[])) "
    f"AND ((r.lid IS NOT NULL AND {_NAMED_DUE}) OR (r.lid IS NULL AND {_UNNAMED_DUE})) "
    "ORDER BY l.id FOR NO KEY UPDATE OF l), "
    # counts only grow (GREATEST skips a NULL)
    "reported AS (UPDATE slot_leases l SET reported_used = GREATEST(l.reported_used, r.n), "
    f"reported_at = %(at)s FROM locked r WHERE l.id = r.id AND r.n IS NOT NULL "
    f"AND {_NAMED_DUE} RETURNING l.id), "
    "unnamed AS (UPDATE slot_leases l SET reported_used = coalesce(l.reported_used, 0), "
    f"reported_at = %(at)s FROM locked r WHERE l.id = r.id AND r.n IS NULL AND {_UNNAMED_DUE} "
    "RETURNING l.id) "
    "SELECT k.kid, (SELECT min(l.book_until) FROM slot_leases l "
    "WHERE l.kiosk_id = k.kid AND l.book_until >= %(at)s) FROM k"
)


def parameters(
    rows: list[dict[str, Any]], now: datetime, cutoff: datetime, late: datetime
) -> dict[str, Any]:
    """State rows (each with its token_hash) as one JSON array, plus the batch's times:
    `cutoff` for samples, `late` for commands unacknowledged."""
    return {"rows": json.dumps(rows, default=_iso), "now": now, "cutoff": cutoff, "late": late}


def _iso(value: object) -> str:
    """Times in the JSON rows (PostgreSQL reads ISO 8601 with its offset)."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a heartbeat row")


class AsyncBatches:
    """The heartbeat writer's own connections, used on the event loop (psycopg's async API).

    A batch handed to a worker thread cost a queue put, a condition notify and GIL hand-offs:
    ~20% of an app server's CPU under heartbeat load, more than the statement itself. One
    connection per batch in flight (the writer has at most a few), kept between batches; a
    connection that failed or was cancelled mid-statement is closed, the next batch opens another.
    """

    def __init__(self, url: str) -> None:
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
        self._idle: list[AsyncConnection[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def run(self, params: dict[str, Any], sql: str = BATCH_SQL) -> list[tuple[Any, ...]]:
        """Execute `sql` (BATCH_SQL or LEASE_SQL, autocommit) and return its rows."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections stay with the loop they were used on (tests)
            for idle in self._idle:
                idle.pgconn.finish()
            self._idle.clear()
            self._loop = loop
        conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed:
            conn = await AsyncConnection.connect(self.conninfo, autocommit=True)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(sql, params, prepare=True)
                rows = await cursor.fetchall()
        except BaseException:
            await conn.close()
            raise
        self._idle.append(conn)
        return rows

    async def aclose(self) -> None:
        """Close the idle connections."""
        while self._idle:
            await self._idle.pop().close()
