"""Fleet tables: each kiosk's current state, its sampled history, its alert history (read by
fleet.alert_history) and remote commands."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from central_server.models import Base


class KioskState(Base):
    """The latest heartbeat of a kiosk (one row per kiosk, upserted)."""

    __tablename__ = "kiosk_states"
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    app_version: Mapped[str] = mapped_column(String(40))
    uptime_s: Mapped[float] = mapped_column(Float)
    disk_free_pct: Mapped[float] = mapped_column(Float)
    disk_free_bytes: Mapped[int] = mapped_column(BigInteger)
    cpu_temp_c: Mapped[float | None] = mapped_column(Float)
    last_transaction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outbox_depth: Mapped[int] = mapped_column(Integer)
    held_submissions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    devices_json: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(String(400))  # " code code " for LIKE filters
    severity: Mapped[int] = mapped_column(Integer)  # 0 ok, 1 warning, 2 critical
    history_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KioskSample(Base):
    """A history sample of a kiosk, kept at most every few minutes for the chart."""

    __tablename__ = "kiosk_samples"
    __table_args__ = (Index("ix_kiosk_samples_kiosk_at", "kiosk_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disk_free_pct: Mapped[float] = mapped_column(Float)
    cpu_temp_c: Mapped[float | None] = mapped_column(Float)
    outbox_depth: Mapped[int] = mapped_column(Integer)
    held_submissions: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    severity: Mapped[int] = mapped_column(Integer)


UNFINISHED = ("queued", "sent", "received")  # a command's states before its result, cancellable


class FleetCommand(Base):
    """A remote command queued for a kiosk, delivered with its next heartbeat (again until the
    kiosk acknowledges it, when the kiosk says what it received), unless a technician cancels it
    first (fleet.service.FleetService.cancel)."""

    __tablename__ = "fleet_commands"
    __table_args__ = (Index("ix_fleet_commands_kiosk_status", "kiosk_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))
    kind: Mapped[str] = mapped_column(String(40))
    args_json: Mapped[str] = mapped_column(Text)
    # queued, sent (handed out), received (the kiosk said so, no result yet), done, failed;
    # cancelled (by a technician before any result: never handed out again)
    status: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first time
    # times handed out: more than one when answers were lost (central_server.fleet.heartbeats)
    deliveries: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result_detail: Mapped[str | None] = mapped_column(Text)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_type: Mapped[str | None] = mapped_column(String(60))
    # A technician's cancellation: kept when the kiosk reports a result afterwards (done or
    # failed then, its result came after the cancellation).
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))


class KioskAlert(Base):
    """One alert of one kiosk: raised at, cleared at (NULL while it lasts). fleet.alert_history
    says how rows are written and read."""

    __tablename__ = "kiosk_alerts"
    __table_args__ = (
        Index("ix_kiosk_alerts_kiosk_open", "kiosk_id", "cleared_at"),
        Index("ix_kiosk_alerts_raised", "raised_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))
    code: Mapped[str] = mapped_column(String(40))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
