"""Heartbeat ingestion with group commit: many heartbeats, one transaction, few round trips.

Remote commands ride on the heartbeat's answer, at least once. An answer can be lost after the
server committed it (a connection reset, an nginx reload, a proxy dropping it, the kiosk
killed before it ran the command), so handing a command out is not the kiosk having it:

- A command is `queued` until a heartbeat's answer carries it; then `sent` (`sent_at`: the
  first time, `deliveries`: how many times it was handed out).
- A kiosk's heartbeat names, in `received_commands`, the commands it received whose result
  it has not got through yet (usually none: it reports each result at once). The server marks
  those `received`; every other command of the kiosk still without a result (`sent` or
  `received`) goes out again with this answer. A lost answer's commands therefore arrive with
  the next heartbeat (or the same one, re-sent by the kiosk's client).
- `done` / `failed`: the kiosk's result (fleet.service.record_result) ends the deliveries.
- `cancelled`: a technician withdrew it before any result (fleet.service.cancel): never handed
  out (again), and no longer unacknowledged. A cancellation and a hand-out of the same command
  are one after the other: the cancellation locks the row (FOR UPDATE) and the hand-out only
  takes rows still unfinished (on PostgreSQL the batch statement's UPDATE checks `status` again
  on the row a concurrent cancellation committed; SQLite writes one transaction at a time). A
  command cancelled after its hand-out may have run: a result the kiosk reports later is kept
  (`done` / `failed`, `cancelled_at` kept).
- The kiosk runs each command once: it records a command's id durably before running it
  (kiosk_app/services/command_record.py); one it receives again is not run again, its
  recorded result is reported again (a reboot redelivered never reboots twice).
- An older kiosk sends no `received_commands`: it gets each command once, as before. If that
  answer is lost the command stays `sent`; the dashboard shows it unacknowledged once it is
  older than alerts.UNACKNOWLEDGED_AFTER, and the technician may queue it again, or cancel it.
  A command acknowledged, answered or cancelled later than that leaves its spell in the alert
  history (fleet.alert_history).

On PostgreSQL the hand-out is part of the batch's one statement (pgbatch), no query more per
heartbeat.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from anyio import to_thread
from fastapi import HTTPException
from sqlalchemy import Connection, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from central_server import lease_reports
from central_server.db import Database
from central_server.fleet import alert_history, alerts, pgbatch
from central_server.fleet.lease_memo import LeaseMemo
from central_server.fleet.models import (
    UNFINISHED,
    FleetCommand,
    KioskAlert,
    KioskSample,
    KioskState,
)
from central_server.fleet.schemas import CommandKind, CommandOut, HeartbeatIn
from central_server.models import Kiosk

log = logging.getLogger(__name__)

MAX_BATCH = 400
MAX_IN_FLIGHT = 3  # batches written at once per process: one waits on its commit, others fill
# On PostgreSQL's event loop a batch waits for its round trips while the loop serves requests:
# with 3 in flight the app servers left the cores idle (lower CPU per heartbeat than the thread
# hand-off, lower rate); 6 matched its rate in two alternating pairs at load 13-16.
MAX_IN_FLIGHT_PG = 6
# Group commit, like PostgreSQL's commit_delay: while other batches are being written, a new
# one waits this long for more heartbeats (unless GATHER_TARGET are already waiting). Without
# it a batch left as soon as a slot was free, so a lower arrival rate (through nginx) made
# smaller batches and dearer heartbeats (5-7 heartbeats a batch against 10-14 straight to the
# app servers; the database's CPU per heartbeat rose by a third). An idle server writes a lone
# heartbeat at once.
GATHER_S = 0.003
GATHER_TARGET = 32
SAMPLE_EVERY = timedelta(minutes=5)


@dataclass
class _Pending:
    kiosk_id: str
    token_hash: str
    heartbeat: HeartbeatIn
    future: asyncio.Future[list[CommandOut]] = field(repr=False)


class HeartbeatWriter:
    """Collects heartbeats from concurrent requests and writes them in one transaction each.

    While one batch is being written, new heartbeats queue for the next: under load each
    transaction carries many kiosks (group commit); when idle a batch holds one heartbeat.
    """

    def __init__(
        self,
        db: Database,
        *,
        sample_every: timedelta = SAMPLE_EVERY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lease_clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`lease_clock`: the clock slot leases expire by (their usage reports are timed by it)."""
        self.db = db
        self.sample_every = sample_every
        self.clock = clock
        self.lease_clock = lease_clock or clock
        self._pending: list[_Pending] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._upsert = _upsert_statement(sqlite_insert)  # PostgreSQL: see pgbatch
        self._autocommit = db.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._pg = pgbatch.AsyncBatches(db.url) if db.is_postgresql else None
        self._lease_memo = LeaseMemo()
        self.gather_s = GATHER_S

    async def submit(
        self, kiosk_id: str, token_hash: str, heartbeat: HeartbeatIn
    ) -> list[CommandOut]:
        """Store one heartbeat (HTTP 401 if the token is not the kiosk's current one).

        Returns the commands handed out to the kiosk (module docstring). The token check
        happens in the batch: one query per batch instead of one per heartbeat.
        """
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name="heartbeat-writer")
        future: asyncio.Future[list[CommandOut]] = loop.create_future()
        self._pending.append(_Pending(kiosk_id, token_hash, heartbeat, future))
        assert self._wakeup is not None
        self._wakeup.set()
        return await future

    async def aclose(self) -> None:
        """Stop the writer task (pending requests get an error)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._pg is not None:
            await self._pg.aclose()
        for item in self._pending:
            if not item.future.done():
                item.future.set_exception(RuntimeError("server shutting down"))
        self._pending.clear()

    async def _run(self) -> None:
        assert self._wakeup is not None
        slots = asyncio.Semaphore(MAX_IN_FLIGHT_PG if self._pg is not None else MAX_IN_FLIGHT)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._pending:
                    await slots.acquire()  # heartbeats arriving meanwhile join this batch
                    if running and len(self._pending) < GATHER_TARGET:
                        await asyncio.sleep(self.gather_s)  # others are being written: fill up
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    if not batch:
                        slots.release()
                        break
                    task = asyncio.get_running_loop().create_task(self._flush(batch))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    task.add_done_callback(lambda _t: slots.release())
        finally:
            for task in running:
                task.cancel()

    async def _flush(self, batch: list[_Pending]) -> None:
        """Write one batch (PostgreSQL on the event loop, SQLite in a worker thread) and answer
        its waiters."""
        try:
            if self._pg is not None:
                commands, current = await self._write_pg_async(batch, self.clock())
            else:
                commands, current = await to_thread.run_sync(self.write, batch)
        except asyncio.CancelledError:
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(RuntimeError("server shutting down"))
            raise
        except Exception as exc:  # every waiter must get an answer
            log.exception("heartbeat batch of %d failed", len(batch))
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        valid = [item for item in batch if current.get(item.kiosk_id) == item.token_hash]
        last = {item.kiosk_id: item for item in valid}  # commands go with the last one
        for item in batch:
            if item.future.done():
                continue
            if last.get(item.kiosk_id) is None or item not in valid:
                item.future.set_exception(
                    HTTPException(
                        401,
                        {"code": "unauthorized", "message": "rotated or revoked token"},
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                )
                continue
            mine = item is last[item.kiosk_id]
            item.future.set_result(commands[item.kiosk_id] if mine else [])

    def write(self, batch: list[_Pending]) -> tuple[dict[str, list[CommandOut]], dict[str, str]]:
        """Store a batch on SQLite (last heartbeat per kiosk wins) and hand out queued commands
        (PostgreSQL: `_write_pg_async`; the module docstring says which).

        Returns the commands per kiosk and each kiosk's current token hash: heartbeats with
        another token (rotated, revoked, unknown kiosk) were not stored.
        """
        assert self._pg is None, "PostgreSQL batches are written on the event loop"
        now = self.clock()
        with self.db.transaction() as session:
            current = dict(
                session.execute(
                    select(Kiosk.kiosk_id, Kiosk.token_hash).where(
                        Kiosk.kiosk_id.in_({item.kiosk_id for item in batch})
                    )
                ).all()
            )
            latest = {
                item.kiosk_id: item.heartbeat
                for item in batch
                if current.get(item.kiosk_id) == item.token_hash
            }
            latest = dict(sorted(latest.items()))  # one lock order for concurrent batches
            if not latest:
                return {}, current
            cutoff = now - self.sample_every
            rows = [
                self._state_row(kiosk_id, hb, now) | {"cutoff": cutoff}
                for kiosk_id, hb in latest.items()
            ]
            conn = session.connection()
            seen = alert_history.last_seen(conn, latest)  # before the upsert overwrites it
            returned = conn.execute(self._upsert, rows).all()
            alert_history.record(conn, _problems(latest), seen, now)
            lease_reports.record(conn, _lease_usage(latest), self.lease_clock())
            sampled = [k for k, at in returned if _same(at, now)]
            if sampled:
                conn.execute(
                    insert(KioskSample),
                    [self._sample_row(k, latest[k], now) for k in sampled],
                )
            delivered = _hand_out(conn, latest, now)
        commands: dict[str, list[CommandOut]] = {kiosk_id: [] for kiosk_id in latest}
        for cid, kiosk_id, kind, args, created in sorted(delivered):
            commands.setdefault(kiosk_id, []).append(_command(cid, kind, args, created))
            log.info("command %d (%s) handed out to kiosk %s", cid, kind, kiosk_id)
        return commands, current

    async def _write_pg_async(
        self, batch: list[_Pending], now: datetime
    ) -> tuple[dict[str, list[CommandOut]], dict[str, str]]:
        """`write` on PostgreSQL, on the event loop: the whole batch in one autocommit
        statement; slot lease usage too, when the memo finds anything
        new in it (one more statement); the alert history, when an alert opens or clears
        (rarely), in a thread."""
        assert self._pg is not None
        pairs, params = self._pg_batch(batch, now)
        result = await self._pg.run(params)
        commands, current, seen, valid = _pg_outcome(result, pairs)
        usage = _lease_usage(valid)
        if usage:
            await self._report_leases(usage)
        problems = _problems(valid)
        if alert_history.changed(problems, seen, now):
            await to_thread.run_sync(self._pg_history_in_thread, problems, seen, now)
        return commands, current

    async def _report_leases(self, usage: dict[str, dict[str, int]]) -> None:
        """lease_reports.record on the event loop, for the reports the memo cannot skip."""
        assert self._pg is not None
        at = lease_reports.utc(self.lease_clock())
        kiosks = self._lease_memo.due(usage, at)
        if not kiosks:
            return
        named = [{"kid": k, "lid": lid, "n": n} for k in kiosks for lid, n in usage[k].items()]
        rows = await self._pg.run(
            {
                "named": json.dumps(named),
                "kiosks": kiosks,  # a few at most: psycopg's array dumper is slow, not here
                "at": at,
                "begun": lease_reports.day_begun(at),
            },
            pgbatch.LEASE_SQL,
        )
        self._lease_memo.learn(rows, usage, at)

    def _pg_batch(
        self, batch: list[_Pending], now: datetime
    ) -> tuple[dict[tuple[str, str], HeartbeatIn], dict[str, Any]]:
        """The batch's (kiosk, token hash) pairs and the statement's parameters."""
        pairs = {(item.kiosk_id, item.token_hash): item.heartbeat for item in batch}
        rows = [
            self._state_row(kiosk_id, hb, now)
            | {"token_hash": token_hash, "received": hb.received_commands}
            for (kiosk_id, token_hash), hb in sorted(pairs.items(), key=lambda p: p[0])
        ]
        return pairs, pgbatch.parameters(
            rows, now, now - self.sample_every, now - alerts.UNACKNOWLEDGED_AFTER
        )

    def _pg_history_in_thread(
        self, problems: dict[str, list[str]], seen: dict[str, alert_history.Before], now: datetime
    ) -> None:
        with self._autocommit.connect() as conn:
            alert_history.record(conn, problems, seen, now)

    @staticmethod
    def _state_row(kiosk_id: str, hb: HeartbeatIn, now: datetime) -> dict[str, Any]:
        problems = alerts.device_problems(hb)
        return {
            "kiosk_id": kiosk_id,
            "last_seen": now,
            "app_version": hb.app_version,
            "uptime_s": hb.uptime_s,
            "disk_free_pct": hb.disk_free_pct,
            "disk_free_bytes": hb.disk_free_bytes,
            "cpu_temp_c": hb.cpu_temp_c,
            "last_transaction_at": _aware(hb.last_transaction_at),
            "outbox_depth": hb.outbox_depth,
            "held_submissions": hb.held_submissions,
            "devices_json": json.dumps(hb.devices, sort_keys=True),
            "problems": alerts.encode(problems),
            "severity": alerts.severity(problems),
            "history_at": now,
        }

    @staticmethod
    def _sample_row(kiosk_id: str, hb: HeartbeatIn, now: datetime) -> dict[str, Any]:
        return {
            "kiosk_id": kiosk_id,
            "at": now,
            "disk_free_pct": hb.disk_free_pct,
            "cpu_temp_c": hb.cpu_temp_c,
            "outbox_depth": hb.outbox_depth,
            "held_submissions": hb.held_submissions,
            "severity": alerts.severity(alerts.device_problems(hb)),
        }


def _pg_outcome(
    result: list[tuple[Any, ...]], pairs: dict[tuple[str, str], HeartbeatIn]
) -> tuple[
    dict[str, list[CommandOut]],
    dict[str, str],
    dict[str, alert_history.Before],
    dict[str, HeartbeatIn],
]:
    """Commands per kiosk, current token hashes, the states before and the stored heartbeats,
    from the rows of the batch statement."""
    current: dict[str, str] = {}
    commands: dict[str, list[CommandOut]] = {}
    seen: dict[str, alert_history.Before] = {}
    for kiosk_id, cid, kind, value, created in sorted(
        result, key=lambda r: (r[1] is not None, r[1])
    ):
        if cid == pgbatch.BEFORE_ROW:  # the state before this batch, same statement
            seen[kiosk_id] = alert_history.Before(
                datetime.fromtimestamp(float(value), UTC), frozenset(alerts.decode(kind))
            )
        elif cid is None:
            current[kiosk_id] = value
            commands.setdefault(kiosk_id, [])
        else:
            commands.setdefault(kiosk_id, []).append(_command(cid, kind, value, created))
            log.info("command %d (%s) handed out to kiosk %s", cid, kind, kiosk_id)
    valid = {
        kiosk_id: pairs[(kiosk_id, token)]
        for kiosk_id, token in current.items()
        if (kiosk_id, token) in pairs
    }
    return commands, current, seen, valid


def _command(cid: int, kind: str, args: str, created: datetime) -> CommandOut:
    """A command for the answer (created_at in UTC: SQLite returns naive UTC times)."""
    return CommandOut(
        id=cid, kind=CommandKind(kind), args=json.loads(args), created_at=lease_reports.utc(created)
    )


def _hand_out(
    conn: Connection, latest: dict[str, HeartbeatIn], now: datetime
) -> list[tuple[int, str, str, str, datetime]]:
    """SQLite: mark the commands the kiosks say they hold `received`; hand out the queued ones
    and those without a result the kiosks do not hold (pgbatch's `sent` and `held` CTEs).
    Returns (id, kiosk, kind, args, created_at) of the commands handed out."""
    c = FleetCommand
    open_ = conn.execute(
        select(c.id, c.kiosk_id, c.kind, c.args_json, c.created_at, c.status, c.sent_at)
        .where(c.kiosk_id.in_(list(latest)), c.status.in_(UNFINISHED))
        .order_by(c.id)
    ).all()
    out: list[tuple[int, str, str, str, datetime]] = []
    held: list[int] = []
    late: list[dict[str, Any]] = []  # acknowledged now, unacknowledged for a while: history
    for cid, kiosk_id, kind, args, created, status, sent_at in open_:
        names = latest[kiosk_id].received_commands
        if status == "queued" or (names is not None and cid not in names):
            out.append((cid, kiosk_id, kind, args, created))
        elif names is not None and status == "sent":
            held.append(cid)
            spell = (
                alerts.unacknowledged_spell(lease_reports.utc(sent_at), now) if sent_at else None
            )
            if spell is not None:
                raised, cleared = spell
                late.append(
                    {"kiosk_id": kiosk_id, "code": alerts.UNACKNOWLEDGED, "raised_at": raised}
                    | {"cleared_at": cleared}
                )
    if held:
        conn.execute(update(c).where(c.id.in_(held)).values(status="received"))
    if late:  # as pgbatch's `late`
        conn.execute(insert(KioskAlert), late)
    if out:
        conn.execute(
            update(c)
            .where(c.id.in_([row[0] for row in out]))
            .values(
                status="sent", sent_at=func.coalesce(c.sent_at, now), deliveries=c.deliveries + 1
            )
        )
    return out


def _problems(latest: dict[str, HeartbeatIn]) -> dict[str, list[str]]:
    """Each kiosk's alert codes from its latest heartbeat."""
    return {kiosk_id: alerts.device_problems(hb) for kiosk_id, hb in latest.items()}


def _lease_usage(latest: dict[str, HeartbeatIn]) -> dict[str, dict[str, int]]:
    """The slot lease usage each kiosk reported: every lease it holds, {} when it holds none
    (kiosks without leases, or whose lease file cannot be read, send none: left out)."""
    return {kiosk_id: hb.leases for kiosk_id, hb in latest.items() if hb.leases is not None}


def _upsert_statement(insert: Any) -> Any:
    """INSERT one kiosk state ... ON CONFLICT update it; sample time moves when one is due."""
    table = KioskState.__table__
    stmt = insert(table)
    excluded = stmt.excluded
    keep = ("kiosk_id", "history_at")
    sample_due = table.c.history_at < bindparam("cutoff", type_=table.c.history_at.type)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.kiosk_id],
        set_={
            **{c.name: excluded[c.name] for c in table.columns if c.name not in keep},
            "history_at": case((sample_due, excluded.history_at), else_=table.c.history_at),
        },
    ).returning(table.c.kiosk_id, table.c.history_at, sort_by_parameter_order=True)


def _aware(value: datetime | None) -> datetime | None:
    """Naive times from a kiosk are taken as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _same(stored: datetime, now: datetime) -> bool:
    """Compare a returned timestamp with `now` (SQLite returns naive UTC)."""
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)
    return abs((stored - now).total_seconds()) < 1e-3
