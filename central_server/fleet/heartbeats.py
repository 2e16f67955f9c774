"""Heartbeat ingestion with group commit: many heartbeats, one transaction, few round trips."""

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
from sqlalchemy import bindparam, case, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from central_server.db import Database
from central_server.fleet import alerts
from central_server.fleet.models import FleetCommand, KioskSample, KioskState
from central_server.fleet.schemas import CommandKind, CommandOut, HeartbeatIn
from central_server.models import Kiosk

log = logging.getLogger(__name__)

MAX_BATCH = 400
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
    ) -> None:
        self.db = db
        self.sample_every = sample_every
        self.clock = clock
        self._pending: list[_Pending] = []
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._upsert = _upsert_statement(pg_insert if db.is_postgresql else sqlite_insert)

    async def submit(
        self, kiosk_id: str, token_hash: str, heartbeat: HeartbeatIn
    ) -> list[CommandOut]:
        """Store one heartbeat (HTTP 401 if the token is not the kiosk's current one).

        Returns the kiosk's newly delivered commands. The token check happens in the batch:
        one query per batch instead of one per heartbeat.
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
        for item in self._pending:
            if not item.future.done():
                item.future.set_exception(RuntimeError("server shutting down"))
        self._pending.clear()

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    result = await to_thread.run_sync(self.write, batch)
                except Exception as exc:  # noqa: BLE001 - every waiter must get an answer
                    log.exception("heartbeat batch of %d failed", len(batch))
                    for item in batch:
                        if not item.future.done():
                            item.future.set_exception(exc)
                    continue
                commands, current = result
                valid = [item for item in batch if current.get(item.kiosk_id) == item.token_hash]
                last = {item.kiosk_id: item for item in valid}  # commands go out exactly once
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
        """Store a batch (last heartbeat per kiosk wins) and hand out queued commands.

        Returns the commands per kiosk and each kiosk's current token hash: heartbeats with
        another token (rotated, revoked, unknown kiosk) were not stored.
        """
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
            if not latest:
                return {}, current
            cutoff = now - self.sample_every
            rows = [
                self._state_row(kiosk_id, hb, now) | {"cutoff": cutoff}
                for kiosk_id, hb in latest.items()
            ]
            conn = session.connection()
            if self.db.is_postgresql:  # one round trip for the whole batch
                columns = {c: [row[c] for row in rows] for c in rows[0] if c != "cutoff"}
                returned = conn.execute(_PG_UPSERT, {**columns, "cutoff": cutoff}).all()
            else:
                returned = conn.execute(self._upsert, rows).all()
            sampled = [k for k, at in returned if _same(at, now)]
            if sampled:
                conn.execute(
                    KioskSample.__table__.insert(),
                    [self._sample_row(k, latest[k], now) for k in sampled],
                )
            delivered = session.execute(
                update(FleetCommand)
                .where(FleetCommand.status == "queued", FleetCommand.kiosk_id.in_(list(latest)))
                .values(status="sent", sent_at=now)
                .returning(
                    FleetCommand.id,
                    FleetCommand.kiosk_id,
                    FleetCommand.kind,
                    FleetCommand.args_json,
                )
            ).all()
        commands: dict[str, list[CommandOut]] = {kiosk_id: [] for kiosk_id in latest}
        for cid, kiosk_id, kind, args in sorted(delivered):
            commands.setdefault(kiosk_id, []).append(
                CommandOut(id=cid, kind=CommandKind(kind), args=json.loads(args))
            )
            log.info("command %d (%s) delivered to kiosk %s", cid, kind, kiosk_id)
        return commands, current

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
            "severity": alerts.severity(alerts.device_problems(hb)),
        }


def _pg_unnest_upsert() -> Any:
    """INSERT ... SELECT FROM unnest(column arrays) ON CONFLICT ...: a batch in one statement."""
    table = KioskState.__table__
    dialect = postgresql.dialect()
    names = [c.name for c in table.columns]
    arrays = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in table.columns
    )
    updates = ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in ("kiosk_id", "history_at"))
    return text(
        f"INSERT INTO kiosk_states ({', '.join(names)}) SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT (kiosk_id) DO UPDATE SET {updates}, history_at = CASE WHEN "
        "kiosk_states.history_at < :cutoff THEN EXCLUDED.history_at "
        "ELSE kiosk_states.history_at END RETURNING kiosk_id, history_at"
    ).bindparams(bindparam("cutoff", type_=table.c.history_at.type))


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


_PG_UPSERT = _pg_unnest_upsert()
