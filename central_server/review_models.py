"""Tables of officer review: staff users, application history, scans, issued documents, outbox."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from central_server.models import Base


class User(Base):
    """A staff account: officer (one office), technician or admin; argon2 password hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    office_code: Mapped[str | None] = mapped_column(ForeignKey("offices.code"))
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)  # bump to end every session
    created_at: Mapped[str] = mapped_column(String(40))


class StaffSecret(Base):
    """A named random secret generated once (the staff session key shared by every worker)."""

    __tablename__ = "staff_secrets"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class ApplicationEvent(Base):
    """One transition of an application: who moved it from which state to which, and why."""

    __tablename__ = "application_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[str] = mapped_column(String(40))


class FixNote(Base):
    """The officer's note on one field or document that the citizen must fix."""

    __tablename__ = "fix_notes"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("application_events.id"))
    target: Mapped[str] = mapped_column(String(80))  # a form field name or "dokumen:<scan>"
    note: Mapped[str] = mapped_column(String(500))
    resolved: Mapped[bool] = mapped_column(default=False)


class ApplicationScan(Base):
    """A scanned document uploaded by the kiosk for an application."""

    __tablename__ = "application_scans"
    __table_args__ = (UniqueConstraint("application_id", "name", name="uq_scan_name"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[str] = mapped_column(String(40))


OPEN_PLACE = text("state = 'waiting' OR state = 'called' OR state = 'no_show'")  # not done


class Arrival(Base):
    """A citizen checked in on their verification day (first-come order) and where they stand
    in the counters' queue (central_server.queue): waiting, called to a counter, set aside as
    a no-show, or done. A waiting row with a counter was transferred to that counter."""

    __tablename__ = "arrivals"
    __table_args__ = (
        Index("ix_arrivals_day", "office_code", "day", "sequence"),
        Index("ix_arrivals_queue", "office_code", "day", "state", "sequence"),
        # The open places only (migration 0021): the start-up clean-up (queue.stale) reads
        # them without reading every arrival ever recorded, and who each counter serves
        # (queue.counters.serving) is found by counter. Written as OR-ed terms so that
        # SQLite uses it for `state = 'called'` too (PostgreSQL proves either form).
        Index(
            "ix_arrivals_open", "counter_id", postgresql_where=OPEN_PLACE, sqlite_where=OPEN_PLACE
        ),
    )
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    day: Mapped[date] = mapped_column(Date)
    sequence: Mapped[int]
    arrived_at: Mapped[str] = mapped_column(String(40))
    service: Mapped[str] = mapped_column(String(40), default="", server_default="")
    state: Mapped[str] = mapped_column(String(12), default="waiting", server_default="waiting")
    priority: Mapped[str] = mapped_column(String(20), default="", server_default="")
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("queue_counters.id"))
    calls: Mapped[int] = mapped_column(default=0, server_default="0")
    called_at: Mapped[str | None] = mapped_column(String(40))
    finished_at: Mapped[str | None] = mapped_column(String(40))


class IssuedDocument(Base):
    """An issued document; `code` is the unguessable key printed in its verification QR."""

    __tablename__ = "issued_documents"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    document_number: Mapped[str] = mapped_column(String(40), unique=True)
    document_type: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(100))
    holder_nik: Mapped[str] = mapped_column(String(16))
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    issued_at: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    revoked_reason: Mapped[str] = mapped_column(String(200), default="")
    delivery_tracking: Mapped[str] = mapped_column(String(60), default="")


MAX_RECIPIENT = 200  # characters of a notification's address (a longer e-mail is not used)


class OutboxMessage(Base):
    """A notification waiting to be sent (durable: written in the transition's transaction)."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(MAX_RECIPIENT))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


# Arrival.counter_id names queue_counters: a process that loads these tables (a script, a test
# acting on the database directly) must know that table too, or flushing an Arrival fails.
from central_server.queue import models as _queue_models  # noqa: E402, F401
