"""Kiosk API for the card holder: their own applications, and printing issued documents once."""

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from central_server import issued, lifecycle, print_codes
from central_server.addresses import public_base
from central_server.card_holder_audit import LISTS, RESERVES
from central_server.card_holder_gate import CardHolderGate
from central_server.db import Database
from central_server.errors import fail
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.models import Application, Office
from central_server.review_models import ApplicationEvent, IssuedDocument
from central_server.schemas import PLAIN, TEXT, Error

MAX_APPLICATIONS = 20  # the newest ones: enough for any citizen's screen
Nik = Annotated[str, StringConstraints(pattern=r"^\d{16}$")]
Token = Annotated[str, StringConstraints(min_length=16, max_length=64, pattern=PLAIN)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error},
    404: {"model": Error},
    409: {"model": Error},
    410: {"model": Error},
    422: {"model": Error},
    429: {
        "model": Error,
        "description": "rate_limited (this NIK asked too often) or kiosk_lookup_budget (this "
        "kiosk's card-holder look-ups, counted in distinct NIKs, are used up); Retry-After says "
        "when to try again",
    },
}


class CardHolderIn(BaseModel):
    """The NIK read from the card in the kiosk's reader (sent in the body, never in a URL)."""

    nik: Nik


class ReserveIn(CardHolderIn):
    """The print code the citizen typed (and optionally which of their applications it is for)."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=PLAIN)]
    registration_number: Annotated[str, StringConstraints(max_length=40, pattern=PLAIN)] | None = (
        None
    )


class ReleaseIn(CardHolderIn):
    """Why printing failed (an error class name: no personal data)."""

    reason: Annotated[str, StringConstraints(max_length=200, pattern=TEXT)] = ""


def application_summary(session: Session, app: Application) -> dict[str, Any]:
    """What the card holder's timeline needs, and nothing more (no names, no NIK, no form)."""
    events = session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id == app.id)
        .order_by(ApplicationEvent.id)
    ).all()
    reason = next((e.note for e in reversed(events) if e.action == "reject"), "")
    found = print_codes.find_by_application(session, app)
    document: dict[str, Any] | None = None
    if found is not None:
        row, doc = found
        state = "not_printable" if row is None else row.state
        state = print_codes.REVOKED if not doc.active else state
        document = {  # never the print code: the citizen types the one sent to them
            "document_number": doc.document_number,
            "print_state": state,
            "printed_at": row.printed_at if row is not None else None,
            "delivery": lifecycle.wants_delivery(app),
            "tracking": doc.delivery_tracking,
        }
    return {
        "registration_number": app.registration_number,
        "service": app.service,
        "status": app.status,
        "queue_number": app.queue_number,
        "slot": {"date": app.slot_date.isoformat(), "window": app.slot_window},
        "created_at": app.created_at,
        "events": [{"action": e.action, "to_status": e.to_status, "at": e.at} for e in events],
        "fix_notes": [
            {"target": n.target, "note": n.note} for n in lifecycle.open_fix_notes(session, app)
        ],
        "reason": reason,
        "document": document,
    }


def build_router(db: Database, kiosk_dependency: KioskGuard, gate: CardHolderGate) -> APIRouter:
    """The card holder's applications and the print-code reservation cycle; `gate` audits
    each look-up and reservation and limits them per kiosk and per NIK (card_holder_gate)."""
    router = APIRouter(tags=["card holder"])
    KioskDep = Annotated[KioskRef, Depends(kiosk_dependency)]

    @router.post("/api/v1/card-holder/applications", responses=ERRORS)
    def my_applications(body: CardHolderIn, kiosk: KioskDep) -> dict[str, Any]:
        """The newest applications filed with the NIK of the card in the kiosk's reader."""
        gate.admit(kiosk.kiosk_id, body.nik, LISTS)
        with db.transaction() as session:
            apps = session.scalars(
                select(Application)
                .where(Application.applicant_nik == body.nik)
                .order_by(Application.id.desc())
                .limit(MAX_APPLICATIONS)
            ).all()
            return {"applications": [application_summary(session, a) for a in apps]}

    @router.post("/api/v1/print-codes/reserve", responses=ERRORS)
    def reserve(body: ReserveIn, kiosk: KioskDep, request: Request) -> dict[str, Any]:
        """Hold a document for printing at this kiosk; answers with its PDF (verification QR)."""
        gate.admit(kiosk.kiosk_id, body.nik, RESERVES)
        base = public_base(request)
        with db.transaction() as session:
            found = _find(session, body)
            row, document = found
            office = session.get_one(Office, document.office_code)
            refusal: print_codes.PrintRefused | None = None
            try:
                token = print_codes.reserve(session, row, document, kiosk.kiosk_id, body.nik)
            except print_codes.PrintRefused as exc:
                refusal = exc
            else:
                pdf = issued.render_pdf(document, office.name, issued.verify_url(base, document))
                answer = {
                    "reservation": token,
                    "document_number": document.document_number,
                    "document_type": document.document_type,
                    "print_ref": f"{row.document_code}:{row.generation}",
                    "office_name": office.name,
                    "pdf_base64": base64.b64encode(pdf).decode(),
                }
        if refusal is not None:  # the refusal's log row is committed with the transaction
            fail(
                refusal.status,
                refusal.code,
                refusal.message,
                office_name=office.name,
                **refusal.extra,
            )
        return answer

    @router.post("/api/v1/print-reservations/{reservation}/confirm", responses=ERRORS)
    def confirm(reservation: Token, body: CardHolderIn, kiosk: KioskDep) -> dict[str, Any]:
        """The document came out of the printer: its code is used up."""
        with db.transaction() as session:
            row = print_codes.confirm(session, reservation, kiosk.kiosk_id, body.nik)
            return {"state": row.state, "printed_at": row.printed_at}

    @router.post(
        "/api/v1/print-reservations/{reservation}/release", status_code=204, responses=ERRORS
    )
    def release(reservation: Token, body: ReleaseIn, kiosk: KioskDep) -> Response:
        """Printing failed: the code can be used again."""
        with db.transaction() as session:
            print_codes.release(session, reservation, kiosk.kiosk_id, body.nik, body.reason)
        return Response(status_code=204)

    return router


def _find(session: Session, body: ReserveIn) -> tuple[print_codes.PrintCode, IssuedDocument]:
    """The document of the typed code; a NIK and a registration number alone print nothing."""
    found = print_codes.find_by_code(session, body.code)
    if found is None:
        fail(404, "unknown_code", "no document has this print code")
    if body.registration_number is not None:
        app = session.get(Application, found[1].application_id)
        if app is None or app.registration_number != body.registration_number:
            fail(404, "unknown_code", "no document of this application has this print code")
    return found
