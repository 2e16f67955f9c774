"""SQLAlchemy tables of the central server."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of every table."""


class Office(Base):
    """A Disdukcapil office; code = 2-digit province + 2-digit regency (e.g. 3517 Jombang)."""

    __tablename__ = "offices"
    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Kiosk(Base):
    """An enrolled kiosk; only the SHA-256 of its bearer token is stored."""

    __tablename__ = "kiosks"
    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    registered_at: Mapped[str] = mapped_column(String(40))
    # Ed25519 public key of the receipts it seals (receipt_seal.public_key_text), None = unknown;
    # the current one of KioskSigningKey
    signing_key: Mapped[str | None] = mapped_column(String(64))
    # The one-time nonce a key replacement's proof of possession must sign, and until when
    # (POST /api/v1/kiosk/signing-key/challenge; used up by the PUT that carries it).
    key_nonce: Mapped[str | None] = mapped_column(String(64))
    key_nonce_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KioskSigningKey(Base):
    """Every receipt signing key a kiosk registered, and from when it signs: a seal is
    checked with the key in force when it was issued, so a key replaced later (a kiosk's key
    file lost, or a stolen token) neither voids old seals nor can forge them
    (central_server.seals)."""

    __tablename__ = "kiosk_signing_keys"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_by: Mapped[str] = mapped_column(String(40))  # "enrolment", "kiosk", "kiosk+proof"
    # in_force; pending (replaced without proof of the old key: a technician approves it, in
    # force from valid_from then, or rejects it); rejected. central_server.seals
    state: Mapped[str] = mapped_column(String(20), server_default="in_force", default="in_force")
    decided_by: Mapped[str | None] = mapped_column(String(100))  # the technician, for pending
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A key proven with its predecessor (registered_by "kiosk+proof"): the predecessor still
    # verifies seals issued before this time (the kiosk seals with it until it hears the
    # server's answer, which may be lost), at first as long as a lease renewed at the
    # rotation lets the kiosk book, then from the kiosk's acknowledgment of its swap up to the
    # time it says it swapped. None: the predecessor ends at valid_from. central_server.seals
    predecessor_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the kiosk says it began sealing with this key (its acknowledgment, signed with this
    # key; the kiosk's clock); None until it acknowledged.
    swapped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Quota(Base):
    """Daily quota of one service at one office (absent row = default quota)."""

    __tablename__ = "quotas"
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"), primary_key=True)
    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    daily_quota: Mapped[int]


class Counter(Base):
    """A named monotonically increasing sequence (registration and queue numbers)."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[int]


class Application(Base):
    """A pre-application submitted by a kiosk, with the first answer kept for idempotent replay."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("kiosk_id", "idempotency_key", name="uq_kiosk_idempotency_key"),
        Index("ix_applications_slot", "office_code", "service", "slot_date", "slot_window"),
        Index("ix_applications_applicant", "applicant_nik", "service"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    registration_number: Mapped[str] = mapped_column(String(40), unique=True)
    queue_number: Mapped[str] = mapped_column(String(10))
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    service: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    applicant_nik: Mapped[str] = mapped_column(String(16))
    applicant_name: Mapped[str] = mapped_column(String(100))
    data_json: Mapped[str] = mapped_column(Text)
    slot_date: Mapped[date] = mapped_column(Date)
    slot_window: Mapped[str] = mapped_column(String(20))
    local_reference: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[str] = mapped_column(String(40))
    response_json: Mapped[str] = mapped_column(Text)
    # Booked offline from a slot lease: the lease and the kiosk's seal (same seal, same row).
    lease_id: Mapped[str | None] = mapped_column(ForeignKey("slot_leases.id"))
    seal: Mapped[str | None] = mapped_column(String(400), unique=True)
    seal_status: Mapped[str | None] = mapped_column(String(20))  # as checked at admission
    # Reconciliation flags for the officer: an earlier open application of the same citizen
    # and service, and why the content was held for an officer (the place is kept).
    duplicate_of: Mapped[str | None] = mapped_column(String(40))
    hold_reason: Mapped[str | None] = mapped_column(String(300))
    # Booked from a lease place given back meanwhile (released by a technician, or the day
    # began) and taken by someone else: honoured, the slot is over its quota by this one.
    over_quota: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    # Moved to another date or window after the kiosk sealed it: the server's seal of the new
    # slot (central_server.server_seal); the kiosk's seal then verifies as superseded.
    server_seal: Mapped[str | None] = mapped_column(String(400), unique=True)


class SlotLease(Base):
    """Places of one slot (office, service, day, window) lent to one kiosk to book offline.

    `places` counts what the kiosk holds, used ones included; `used` the offline bookings
    admitted against it; `returned` what went back to the pool (given back, reclaimed after
    expiry, released by a technician). Unused places count as taken out of the slot's quota
    until they are returned or the slot's day begins (central_server.lease_reports).
    `reported_used` is what the kiosk last said it booked from the lease (heartbeats),
    `reported_at` when; `released_by` the technician who released places in doubt.
    """

    __tablename__ = "slot_leases"
    __table_args__ = (
        UniqueConstraint("kiosk_id", "service", "day", "window", name="uq_lease_slot"),
        Index("ix_leases_slot", "office_code", "service", "day", "window"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(ForeignKey("kiosks.kiosk_id"))
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    service: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    window: Mapped[str] = mapped_column(String(20))
    places: Mapped[int]
    used: Mapped[int]
    returned: Mapped[int]
    book_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reported_used: Mapped[int | None]
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
