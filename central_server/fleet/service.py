"""Fleet queries and commands shared by the JSON API and the dashboard."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import overload

from sqlalchemy import ColumnElement, Select, and_, case, or_, select
from sqlalchemy.orm import Session

from central_server import card_holder_audit
from central_server.db import Database
from central_server.downloads import FALLBACK_TYPE, looks_like, served_type
from central_server.errors import fail
from central_server.fleet import alerts
from central_server.fleet.alerts import UNACKNOWLEDGED, UNACKNOWLEDGED_AFTER
from central_server.fleet.models import (
    UNFINISHED,
    FleetCommand,
    KioskAlert,
    KioskSample,
    KioskState,
)
from central_server.fleet.schemas import (
    CommandIn,
    CommandKind,
    CommandResultIn,
    CommandStatusOut,
    KioskHealthOut,
)
from central_server.models import Kiosk, Office

log = logging.getLogger(__name__)
audit = logging.getLogger("central_server.audit")
MAX_LIST = 1000
STATUSES = ("online", "offline", "missing")


@overload
def utc(value: datetime) -> datetime: ...
@overload
def utc(value: None) -> None: ...
def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass(frozen=True)
class Filters:
    """Dashboard and API filters (all optional)."""

    office: str | None = None
    problem: str | None = None
    status: str | None = None


class FleetService:
    """Reads kiosk health and manages remote commands."""

    def __init__(self, db: Database, clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.clock = clock or (lambda: datetime.now(UTC))

    def offices(self) -> list[tuple[str, str]]:
        """Every office as (code, name)."""
        with self.db.transaction() as session:
            return [(o.code, o.name) for o in session.scalars(select(Office).order_by(Office.code))]

    def _query(self, filters: Filters, now: datetime) -> Select[Kiosk, KioskState, bool, bool]:
        """The kiosks matching `filters`, the most troubled first, each with whether the server
        raises lookup_budget and commands_unacknowledged for it: one statement."""
        over = Kiosk.kiosk_id.in_(card_holder_audit.over_budget_ids(now))
        stuck = Kiosk.kiosk_id.in_(_unacknowledged(now))
        seen = KioskState.last_seen
        long_offline = or_(seen.is_(None), seen < now - alerts.OFFLINE_ALERT_AFTER)
        query = select(Kiosk, KioskState, over, stuck).outerjoin(
            KioskState, KioskState.kiosk_id == Kiosk.kiosk_id
        )
        if filters.office:
            query = query.where(Kiosk.office_code == filters.office)
        if filters.status == "online":
            query = query.where(seen >= now - alerts.ONLINE_WITHIN)
        elif filters.status == "offline":
            query = query.where(
                seen < now - alerts.ONLINE_WITHIN, seen >= now - alerts.MISSING_AFTER
            )
        elif filters.status == "missing":
            query = query.where(or_(seen.is_(None), seen < now - alerts.MISSING_AFTER))
        if filters.problem == "offline_too_long":
            query = query.where(long_offline)
        elif filters.problem == card_holder_audit.ALERT_CODE:  # the server's, not a heartbeat's
            query = query.where(over)
        elif filters.problem == UNACKNOWLEDGED:  # the server's too
            query = query.where(stuck)
        elif filters.problem == "any":
            query = query.where(
                or_(
                    KioskState.severity > 0,
                    seen.is_(None),
                    seen < now - alerts.ONLINE_WITHIN,
                    over,
                    stuck,
                )
            )
        elif filters.problem:
            query = query.where(KioskState.problems.like(f"% {filters.problem} %"))
        level = _severity(
            {
                "offline_too_long": long_offline,
                card_holder_audit.ALERT_CODE: over,
                UNACKNOWLEDGED: stuck,
            }
        )
        return query.order_by(level.desc(), Kiosk.kiosk_id).limit(MAX_LIST)

    def kiosks(self, filters: Filters = Filters()) -> list[KioskHealthOut]:
        """Kiosks matching the filters, the most troubled first (the worst of each kiosk's
        alerts, whoever raised them: its heartbeat or the server)."""
        now = self.clock()
        with self.db.transaction() as session:
            rows = session.execute(self._query(filters, now)).all()  # one statement
        return [
            self._health(kiosk, state, now, bool(over), bool(stuck))
            for kiosk, state, over, stuck in rows
        ]

    def kiosk(self, kiosk_id: str) -> KioskHealthOut:
        """One kiosk's health, or 404."""
        with self.db.transaction() as session:
            kiosk = session.get(Kiosk, kiosk_id)
            if kiosk is None:
                fail(404, "unknown_kiosk", f"kiosk {kiosk_id} is not enrolled")
            state = session.get(KioskState, kiosk_id)
            now = self.clock()
            over = card_holder_audit.over_budget(session, now, [kiosk_id])
            stuck = _stuck(session, now, [kiosk_id])
        return self._health(kiosk, state, now, kiosk_id in over, kiosk_id in stuck)

    def over_budget(self, kiosk_id: str) -> card_holder_audit.Refusals | None:
        """The kiosk's card-holder look-ups refused for its budget lately, or None."""
        with self.db.transaction() as session:
            return card_holder_audit.over_budget(session, self.clock(), [kiosk_id]).get(kiosk_id)

    def _health(
        self,
        kiosk: Kiosk,
        state: KioskState | None,
        now: datetime,
        over_budget: bool = False,
        unacknowledged: bool = False,
    ) -> KioskHealthOut:
        seen = utc(state.last_seen) if state else None
        status = alerts.connectivity(seen, now)
        codes = alerts.current_alerts(state.problems if state else None, seen, now)
        if over_budget:  # raised by the server (card_holder_audit), not by a heartbeat
            codes.append(card_holder_audit.ALERT_CODE)
        if unacknowledged:  # commands handed out and not acknowledged (_command_out)
            codes.append(UNACKNOWLEDGED)
        return KioskHealthOut(
            kiosk_id=kiosk.kiosk_id,
            name=kiosk.name,
            office_code=kiosk.office_code,
            status=status,
            colour=alerts.colour(status, codes),
            alerts=codes,
            last_seen=seen,
            app_version=state.app_version if state else None,
            uptime_s=state.uptime_s if state else None,
            disk_free_pct=state.disk_free_pct if state else None,
            cpu_temp_c=state.cpu_temp_c if state else None,
            outbox_depth=state.outbox_depth if state else None,
            held_submissions=state.held_submissions if state else None,
            last_transaction_at=utc(state.last_transaction_at) if state else None,
            devices=json.loads(state.devices_json) if state else {},
        )

    def samples(self, kiosk_id: str, hours: int = 24) -> list[KioskSample]:
        """History samples of the last `hours`, oldest first."""
        since = self.clock() - timedelta(hours=hours)
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(KioskSample)
                    .where(and_(KioskSample.kiosk_id == kiosk_id, KioskSample.at >= since))
                    .order_by(KioskSample.at)
                )
            )

    def queue(self, kiosk_id: str, body: CommandIn, created_by: str) -> CommandStatusOut:
        """Queue a command for the kiosk's next heartbeat."""
        with self.db.transaction() as session:
            if session.get(Kiosk, kiosk_id) is None:
                fail(404, "unknown_kiosk", f"kiosk {kiosk_id} is not enrolled")
            command = FleetCommand(
                kiosk_id=kiosk_id,
                kind=body.kind.value,
                args_json=json.dumps(body.args, sort_keys=True, default=str),
                status="queued",
                created_by=created_by,
                created_at=self.clock(),
            )
            session.add(command)
            session.flush()
            out = self._command_out(command)
        log.info(
            "command %d (%s) queued for kiosk %s by %s", out.id, out.kind, kiosk_id, created_by
        )
        if body.kind is CommandKind.rotate_seal_key:
            audit.warning(
                "%s asked kiosk %s to rotate its receipt seal key (command %d)",
                created_by,
                kiosk_id,
                out.id,
            )
        elif body.kind is CommandKind.clear_copy_reports:
            audit.warning(
                "%s cleared the refused receipt-copy reports of kiosk %s (through row %s, "
                "command %d): the citizens' copy allowances they concerned stay as counted",
                created_by,
                kiosk_id,
                body.args.get("through", "all"),
                out.id,
            )
        return out

    def commands(self, kiosk_id: str, limit: int = 50) -> list[CommandStatusOut]:
        """A kiosk's latest commands, newest first."""
        with self.db.transaction() as session:
            rows = session.scalars(
                select(FleetCommand)
                .where(FleetCommand.kiosk_id == kiosk_id)
                .order_by(FleetCommand.id.desc())
                .limit(limit)
            )
            return [self._command_out(c) for c in rows]

    def command(self, command_id: int) -> CommandStatusOut:
        """One command, or 404."""
        with self.db.transaction() as session:
            row = session.get(FleetCommand, command_id)
            if row is None:
                fail(404, "unknown_command", f"no command {command_id}")
            return self._command_out(row)

    def attachment(self, command_id: int) -> tuple[bytes, str]:
        """The file a command produced (logs, screenshot), or 404."""
        with self.db.transaction() as session:
            row = session.get(FleetCommand, command_id)
            if row is None or row.attachment is None:
                fail(404, "no_attachment", f"command {command_id} has no attachment")
            return row.attachment, served_type(row.attachment_type)

    def record_result(self, kiosk_id: str, command_id: int, body: CommandResultIn) -> None:
        """Store a kiosk's result for one of its own commands."""
        data = None
        if body.attachment_b64 is not None:
            try:
                data = base64.b64decode(body.attachment_b64, validate=True)
            except (binascii.Error, ValueError):
                fail(422, "bad_attachment", "attachment_b64 is not valid base64")
            if not looks_like(body.attachment_type or FALLBACK_TYPE, data):
                fail(422, "bad_attachment", "the attachment is not what attachment_type says")
        with self.db.transaction() as session:
            # locked: a technician's cancellation (`cancel`) is before or after it, not between
            row = session.get(FleetCommand, command_id, with_for_update=True)
            if row is None or row.kiosk_id != kiosk_id:  # never reveal other kiosks' commands
                fail(404, "unknown_command", f"no command {command_id} for this kiosk")
            if row.status in ("done", "failed"):
                fail(409, "already_reported", f"command {command_id} already has a result")
            now = self.clock()
            _end_spell(session, row, now)  # unacknowledged until this answer
            row.status = "done" if body.ok else "failed"
            row.finished_at = now
            row.result_detail = body.detail
            if data is not None:
                row.attachment = data
                row.attachment_type = body.attachment_type or FALLBACK_TYPE
        late = " (after its cancellation)" if row.cancelled_at is not None else ""
        log.info(
            "command %d on kiosk %s: %s%s %s", command_id, kiosk_id, row.status, late, body.detail
        )

    def cancel(
        self, command_id: int, cancelled_by: str, kiosk_id: str | None = None
    ) -> CommandStatusOut:
        """Cancel a command without a result: never handed out (again), no longer
        unacknowledged (heartbeats' module docstring). 404 for an unknown command (or another
        kiosk's, given `kiosk_id`), 409 for one with a result or cancelled already."""
        with self.db.transaction() as session:
            # Locked: two cancellations, or a cancellation and a hand-out or a result, are one
            # after the other (the second sees what the first committed).
            row = session.get(FleetCommand, command_id, with_for_update=True)
            if row is None or (kiosk_id is not None and row.kiosk_id != kiosk_id):
                fail(404, "unknown_command", f"no command {command_id}")
            if row.cancelled_at is not None:
                fail(409, "already_cancelled", f"command {command_id} was cancelled already")
            if row.status not in UNFINISHED:
                fail(409, "already_finished", f"command {command_id} already has a result")
            was, now = row.status, self.clock()
            _end_spell(session, row, now)  # unacknowledged until this cancellation
            row.status, row.cancelled_at, row.cancelled_by = "cancelled", now, cancelled_by
            out = self._command_out(row)
        audit.warning(
            "%s cancelled command %d (%s) of kiosk %s while %s%s",
            cancelled_by,
            command_id,
            out.kind.value,
            out.kiosk_id,
            was,
            "" if was == "queued" else ": the kiosk may have run it already",
        )
        return out

    def _command_out(self, row: FleetCommand) -> CommandStatusOut:
        sent_at = utc(row.sent_at)
        return CommandStatusOut(
            id=row.id,
            kiosk_id=row.kiosk_id,
            kind=CommandKind(row.kind),
            args=json.loads(row.args_json),
            status=row.status,
            created_by=row.created_by,
            created_at=utc(row.created_at) or row.created_at,
            sent_at=sent_at,
            deliveries=row.deliveries or 0,
            unacknowledged=row.status == "sent"
            and sent_at is not None
            and sent_at < self.clock() - UNACKNOWLEDGED_AFTER,  # as _unacknowledged selects
            finished_at=utc(row.finished_at),
            result_detail=row.result_detail,
            has_attachment=row.attachment is not None,
            cancelled_at=utc(row.cancelled_at),
            cancelled_by=row.cancelled_by,
        )


def _end_spell(session: Session, row: FleetCommand, now: datetime) -> None:
    """A command `sent` and not acknowledged in time ends its unacknowledged spell now (its
    result came, or a technician cancelled it): the spell goes into the alert history."""
    sent_at = utc(row.sent_at) if row.status == "sent" else None
    spell = alerts.unacknowledged_spell(sent_at, now) if sent_at is not None else None
    if spell is not None:
        raised, cleared = spell
        session.add(
            KioskAlert(
                kiosk_id=row.kiosk_id, code=UNACKNOWLEDGED, raised_at=raised, cleared_at=cleared
            )
        )


def unacknowledged(now: datetime) -> ColumnElement[bool]:
    """A command handed out before UNACKNOWLEDGED_AFTER that its kiosk has neither
    acknowledged nor answered (as CommandStatusOut.unacknowledged says of one)."""
    return and_(FleetCommand.status == "sent", FleetCommand.sent_at < now - UNACKNOWLEDGED_AFTER)


def _unacknowledged(now: datetime) -> Select[str]:
    """The kiosks holding an unacknowledged command."""
    return select(FleetCommand.kiosk_id).where(unacknowledged(now)).distinct()


def _stuck(session: Session, now: datetime, kiosk_ids: list[str]) -> set[str]:
    """Those of `kiosk_ids` with unacknowledged commands, in one statement (none without ids)."""
    if not kiosk_ids:
        return set()
    query = _unacknowledged(now).where(FleetCommand.kiosk_id.in_(sorted(set(kiosk_ids))))
    return set(session.scalars(query))


def _severity(raised: dict[str, ColumnElement[bool]]) -> ColumnElement[int]:
    """A kiosk's severity in SQL: the worst of its last heartbeat's alerts (its stored
    severity) and of those whose condition in `raised` holds (the alerts the server raises:
    _health adds them to the heartbeat's), as alerts.severity rates their codes."""
    stored = KioskState.severity
    critical = [c for code, c in raised.items() if alerts.severity([code]) >= alerts.CRITICAL]
    warning = [c for code, c in raised.items() if alerts.severity([code]) >= alerts.WARNING]
    return case(
        (or_(stored >= alerts.CRITICAL, *critical), alerts.CRITICAL),
        (or_(stored >= alerts.WARNING, *warning), alerts.WARNING),
        else_=alerts.OK,
    )
