"""Tables of the counters' queue: the counters (loket) of an office and the queue's events.

Where each checked-in citizen stands lives on their Arrival row (central_server.review_models).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central_server.models import Base


class QueueCounter(Base):
    """A counter (loket) of an office: its number, the services it handles, who opened it."""

    __tablename__ = "queue_counters"
    __table_args__ = (UniqueConstraint("office_code", "number", name="uq_counter_number"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    number: Mapped[int]
    services: Mapped[str] = mapped_column(String(400))  # service keys, comma-separated
    officer: Mapped[str] = mapped_column(String(64))
    is_open: Mapped[bool]
    opened_at: Mapped[str] = mapped_column(String(40))

    @property
    def service_list(self) -> list[str]:
        """The services this counter handles."""
        return [s for s in self.services.split(",") if s]


class QueueEvent(Base):
    """One step of an office's queue (check-in, call, recall, no-show, restore, transfer, finish,
    priority): the log of who did what, and what the waiting-room displays replay by id."""

    __tablename__ = "queue_events"
    __table_args__ = (
        Index("ix_queue_events_office", "office_code", "id"),  # a display's replay by id
        # the display voice's lookup (queue.display.call_lookup), asked by every waiting room
        Index("ix_queue_events_call", "office_code", "day", "calling_number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    calling_number: Mapped[str] = mapped_column(String(10))
    counter_number: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200))
    at: Mapped[str] = mapped_column(String(40))
