"""A copy of a pre-application's receipt for the card holder, from the server's own data.

A citizen who lost the ticket or the A4 receipt gets it again at any kiosk of the office after
the e-KTP is read: the kiosk asks for the application's receipt data bound to the card's NIK
and the registration number, with a fresh seal of the server's own key (server_seal: the same
seal format the kiosks use, so the check-in and `/r/` verify it). The kiosk keeps no printed
receipt. Limits: the card-holder gate (the kiosk's budget and the NIK's rate, audited in
`card_holder_lookups`) and RECEIPT_COPIES_PER_DAY copies of one application a WIB day, every
request kept here (kiosk, time, masked NIK, outcome).

A copy the kiosk reports as not printed at all (neither the ticket nor the A4 receipt came
out: paper out, a jam, a pulled cable) is given back: it stays here with its print outcome,
for a supervisor, but no longer counts toward the day's limit
(central_server.receipt_copy_outcomes). A copy whose outcome never arrives (the kiosk died
while printing) counts, as one that printed.
"""

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, StringConstraints
from sqlalchemy import DateTime, Index, Integer, String, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from central_server.addresses import public_base
from central_server.card_holder_gate import CardHolderGate
from central_server.db import Database
from central_server.errors import fail
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.lease_reports import utc
from central_server.leases import day_start
from central_server.lifecycle import State
from central_server.models import Application, Base, Office
from central_server.print_api import ERRORS, CardHolderIn
from central_server.schemas import PLAIN, SlotIn
from central_server.server_seal import ServerSealer
from central_server.settings import WIB
from kiosk_app.domain.identity import mask_nik
from kiosk_app.services import receipt_seal

audit = logging.getLogger("central_server.audit")

KIND = "receipt_copy"  # card_holder_audit's kind of look-up
# Until the verification at the counter the receipt is what the citizen brings; after it (or a
# rejection) there is nothing left to bring it to.
COPYABLE = frozenset({State.submitted, State.under_review, State.needs_fixing, State.approved})
ALLOWED, DAILY_LIMIT, NOT_COPYABLE, NOT_FOUND = (
    "allowed",
    "daily_limit",
    "not_copyable",
    "not_found",
)
# An allowed copy's print outcome as its kiosk reported it (None: never reported, counts).
PRINTED, PARTLY_PRINTED, NOT_PRINTED = "printed", "partly_printed", "not_printed"


class ReceiptCopy(Base):
    """One request for a receipt copy: which application, kiosk, when, masked NIK, outcome."""

    __tablename__ = "receipt_copies"
    __table_args__ = (Index("ix_receipt_copies_application_at", "application_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_id: Mapped[int | None] = mapped_column(Integer)  # None: no such application
    kiosk_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    masked_nik: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(20))  # allowed | daily_limit | not_copyable ...
    # What the kiosk reported of an allowed copy: printed | partly_printed | not_printed;
    # None: no report (yet, or ever: the kiosk died mid-print), so it counts.
    print_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    print_failure: Mapped[str | None] = mapped_column(String(200), nullable=True)  # which device
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    report_key: Mapped[str | None] = mapped_column(String(128), nullable=True)  # Idempotency-Key


class ReceiptCopyIn(CardHolderIn):
    """The card holder's NIK and the registration number of the receipt to print again."""

    registration_number: Annotated[
        str, StringConstraints(min_length=1, max_length=40, pattern=PLAIN)
    ]


class ReceiptCopyOut(BaseModel):
    """What the kiosk prints on the copy: the application as the server holds it now."""

    registration_number: str
    queue_number: str
    service: str
    status: str
    slot: SlotIn  # the booked verification date and window
    office_name: str
    data: dict[str, str]  # the form's values (the receipt shows its first rows, masked)
    seal: str  # the server's seal of the application as it stands
    qr: str  # what the QR carries: <public url>/r/<seal>
    copied_at: datetime
    copies_left_today: int
    copy_id: int  # the audit row: the kiosk reports the copy's print outcome on it


def _day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The WIB day of `now`, its bounds in UTC: rows are stored in UTC, and SQLite compares
    the stored text without its offset (WIB bounds there counted a UTC day, so after WIB
    midnight, 17:00 UTC, a day's copies were forgotten)."""
    day = utc(now).astimezone(WIB).date()
    return day_start(day), day_start(day + timedelta(days=1))


def copies_today(session: Session, application_id: int, now: datetime) -> int:
    """The application's copies counted today: allowed ones, less those given back because
    nothing printed (NOT_PRINTED)."""
    start, end = _day_bounds(now)
    return int(
        session.scalar(
            select(func.count()).where(
                ReceiptCopy.application_id == application_id,
                ReceiptCopy.outcome == ALLOWED,
                or_(ReceiptCopy.print_outcome.is_(None), ReceiptCopy.print_outcome != NOT_PRINTED),
                ReceiptCopy.at >= start,
                ReceiptCopy.at < end,
            )
        )
        or 0
    )


def _values(data_json: str) -> dict[str, str]:
    try:
        data = json.loads(data_json or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}


def build_router(
    db: Database,
    kiosk_dependency: KioskGuard,
    gate: CardHolderGate,
    sealer: ServerSealer,
    clock: Callable[[], datetime],
    per_day: int,
) -> APIRouter:
    """`POST /api/v1/card-holder/receipt-copy`: `per_day` copies of an application a WIB day."""
    router = APIRouter(tags=["card holder"])
    KioskDep = Annotated[KioskRef, Depends(kiosk_dependency)]

    @router.post(
        "/api/v1/card-holder/receipt-copy", response_model=ReceiptCopyOut, responses=ERRORS
    )
    def receipt_copy(body: ReceiptCopyIn, kiosk: KioskDep, request: Request) -> ReceiptCopyOut:
        """The receipt of the card holder's own application again, sealed by the server
        (404 not_found: no application of this NIK has the number; 409 not_copyable: verified,
        finished or rejected; 409 copy_limit: this application's copies today are used up)."""
        gate.admit(kiosk.kiosk_id, body.nik, KIND)
        masked = mask_nik(body.nik)
        now = clock()
        base = public_base(request)
        refusal: tuple[int, str, str, dict[str, Any]] | None = None
        answer: ReceiptCopyOut | None = None
        left = 0
        with db.transaction() as session:
            app = session.scalar(
                select(Application).where(
                    Application.registration_number == body.registration_number,
                    Application.applicant_nik == body.nik,
                )
            )
            if app is None:
                outcome = NOT_FOUND
                refusal = (404, "not_found", "no application of this NIK has this number", {})
            elif app.status not in COPYABLE:
                outcome = NOT_COPYABLE
                refusal = (
                    409,
                    "not_copyable",
                    f"the application is {app.status}: its receipt is not printed again",
                    {"application_status": app.status},
                )
            else:
                # Locked so two kiosks asking at once never both take the last copy.
                session.execute(
                    select(Application.id).where(Application.id == app.id).with_for_update()
                )
                left = per_day - copies_today(session, app.id, now)
                outcome = ALLOWED if left > 0 else DAILY_LIMIT
            if outcome == DAILY_LIMIT:
                refusal = (
                    409,
                    "copy_limit",
                    f"this application's receipt was printed again {per_day} times today",
                    {"limit": per_day},
                )
            row = ReceiptCopy(
                application_id=app.id if app is not None else None,
                kiosk_id=kiosk.kiosk_id,
                at=utc(now),
                masked_nik=masked,
                outcome=outcome,
            )
            session.add(row)
            if app is not None and outcome == ALLOWED:
                session.flush()  # the row's id: the copy the kiosk reports on
                office = session.get_one(Office, app.office_code)
                seal = sealer.seal(app)
                answer = ReceiptCopyOut(
                    registration_number=app.registration_number,
                    queue_number=app.queue_number,
                    service=app.service,
                    status=app.status,
                    slot=SlotIn(date=app.slot_date, window=app.slot_window),
                    office_name=office.name,
                    data=_values(app.data_json),
                    seal=seal,
                    qr=receipt_seal.qr_text(seal, base),
                    copied_at=now,
                    copies_left_today=left - 1,
                    copy_id=row.id,
                )
        audit.info(
            "receipt copy %s: kiosk %s, nik=%s, %s",
            body.registration_number,
            kiosk.kiosk_id,
            masked,
            outcome,
        )
        if refusal is not None:
            status, code, message, extra = refusal
            fail(status, code, message, **extra)
        assert answer is not None
        return answer

    return router
