"""The verification day's queue over HTTP: kiosk check-in and the attendant's priority lane
(kiosk token), and the waiting-room displays (public: calling numbers only, no personal data)."""

import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from central_server.db import Database
from central_server.errors import UNAUTHORIZED as ERRORS
from central_server.errors import fail
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.models import Office
from central_server.numbering import QUEUE_NUMBER_RE
from central_server.officer import counters
from central_server.officer.common import PageContext
from central_server.queue import checkin as queue_checkin
from central_server.queue import display as queue_display
from central_server.queue.audio import call_wav
from central_server.queue.checkin import Lookup
from central_server.queue.core import QueueRefused
from central_server.queue.counters import MAX_COUNTER
from central_server.queue.hub import DisplayHub
from central_server.schemas import Error
from central_server.settings import WIB
from kiosk_app.domain.terbilang import call_sentence

TEMPLATES = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent.parent / "queue" / "templates")
)
EVENT_ID_RE = re.compile(r"^[0-9]{1,18}$")  # a display's Last-Event-ID (a sequence value)
OFFICE_CODE_RE = re.compile(r"^[0-9]{4}$")
UNKNOWN_OFFICE = "kantor tidak dikenal / unknown office"  # the path is not quoted back
log = logging.getLogger("central_server.queue")


class SealIn(BaseModel):
    """The text of the ticket's or receipt's QR (barcode scanner)."""

    model_config = ConfigDict(extra="forbid")
    seal: str = Field(min_length=1, max_length=2000)


class NumberIn(BaseModel):
    """The registration number, typed."""

    model_config = ConfigDict(extra="forbid")
    registration_number: str = Field(min_length=1, max_length=64)


class NikIn(BaseModel):
    """The card holder's NIK (e-KTP tap): their booking for today at the kiosk's office."""

    model_config = ConfigDict(extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")


CheckinIn = SealIn | NumberIn | NikIn


class TicketOut(BaseModel):
    """The calling ticket."""

    calling_number: str
    registration_number: str
    service: str
    service_name: str
    counter_group: str
    people_ahead: int
    estimated_wait_minutes: int
    window: str
    date: date
    repeat: bool
    priority: str


class PriorityIn(BaseModel):
    """The attendant puts a checked-in citizen in the priority lane."""

    registration_number: str = Field(max_length=64)
    reason: Literal["lansia", "disabilitas", "ibu_hamil"]  # queue.core.PRIORITY_REASONS
    attendant: str = Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")


def refuse(exc: QueueRefused) -> None:
    """A refusal as the API's error answer (with the kiosk's details: date, window, ...)."""
    fail(exc.status, exc.code, exc.message, **exc.extra)


def router(
    db: Database,
    hub: DisplayHub,
    current_kiosk: KioskGuard,
    clock: Callable[[], datetime],
    pages: PageContext,
) -> APIRouter:
    """POST /api/v1/checkin, POST /api/v1/queue/priority, the /display pages and the
    officers' counter pages."""
    r = APIRouter()
    r.include_router(counters.router(pages))

    def today() -> date:
        return clock().astimezone(WIB).date()

    KioskDep = Annotated[KioskRef, Depends(current_kiosk)]

    @r.post(
        "/api/v1/checkin",
        response_model=TicketOut,
        responses={**ERRORS, 404: {"model": Error}, 409: {"model": Error}},
    )
    def checkin(body: CheckinIn, kiosk: KioskDep) -> dict[str, Any]:
        """Check in on the verification day: the calling ticket (the same one when repeated)."""
        if isinstance(body, SealIn):
            lookup = Lookup(seal=body.seal)
        elif isinstance(body, NumberIn):
            lookup = Lookup(registration_number=body.registration_number)
        else:
            lookup = Lookup(nik=body.nik)
        try:
            with db.transaction() as session:
                ticket = queue_checkin.check_in(
                    session,
                    kiosk.office_code,
                    lookup,
                    clock(),
                    f"kiosk:{kiosk.kiosk_id}",
                    pages.sealer,
                )
        except QueueRefused as exc:
            refuse(exc)
        return ticket

    @r.post(
        "/api/v1/queue/priority",
        response_model=TicketOut,
        responses={**ERRORS, 404: {"model": Error}, 409: {"model": Error}},
    )
    def priority(body: PriorityIn, kiosk: KioskDep) -> dict[str, Any]:
        """The attendant grants the priority lane (lansia, disabilitas, ibu hamil); logged."""
        day = today()
        try:
            with db.transaction() as session:
                app = queue_checkin.find_application(
                    session,
                    kiosk.office_code,
                    Lookup(registration_number=body.registration_number),
                    day,
                )
                if app.office_code != kiosk.office_code:
                    raise QueueRefused("not_found", "unknown registration number", status=404)
                actor = f"petugas:{body.attendant.strip()}@kiosk:{kiosk.kiosk_id}"
                arrival = queue_checkin.grant_priority(session, app, body.reason, actor, day)
                ticket = queue_checkin.ticket(session, app, arrival, repeat=True)
        except QueueRefused as exc:
            refuse(exc)
        return ticket

    def find_office(office_code: str) -> Office | None:
        """The office of a display's path, or None (never looked up unless four digits:
        PostgreSQL refuses a NUL in text)."""
        if not OFFICE_CODE_RE.match(office_code):
            return None
        with db.transaction() as session:
            return session.get(Office, office_code)

    def known_office(office_code: str) -> Office:
        """The office of a display's path (a JSON 404 for anything else)."""
        office = find_office(office_code)
        if office is None:
            fail(404, "unknown_office", UNKNOWN_OFFICE)
        return office

    @r.get("/display/{office_code}", response_class=HTMLResponse, include_in_schema=False)
    def display(request: Request, office_code: str) -> Response:
        """The waiting room's full-screen display (Chromium in kiosk mode on a TV). For an
        unknown office, a page telling the technician to check the address (the path is not
        quoted back); the JSON 404 when JSON is asked for."""
        office = find_office(office_code)
        if office is None:
            if "application/json" in request.headers.get("accept", ""):  # scripts, the tests
                fail(404, "unknown_office", UNKNOWN_OFFICE)
            log.warning("display page for an unknown office code %r refused", office_code[:8])
            return TEMPLATES.TemplateResponse(request, "display_unknown.html", {}, 404)
        with db.transaction() as session:
            state = queue_display.display_state(session, office_code, today())
        return TEMPLATES.TemplateResponse(
            request, "display.html", {"office": office, "state": state}
        )

    @r.get("/display/{office_code}/state", include_in_schema=False)
    def display_state(office_code: str) -> dict[str, Any]:
        """The display's state as JSON (what the first server-sent event carries)."""
        known_office(office_code)
        with db.transaction() as session:
            return queue_display.display_state(session, office_code, today())

    @r.get("/display/{office_code}/events", include_in_schema=False)
    async def display_events(
        office_code: str, last_event_id: Annotated[str | None, Header()] = None
    ) -> StreamingResponse:
        """Server-sent events: `state` on connect and on every change, `call` for each call."""
        await run_in_threadpool(known_office, office_code)
        if hub.full(office_code):
            log.warning(
                "display stream of office %s refused: %d stream(s) open in this process",
                office_code,
                hub.connected(),
            )
            fail(503, "too_many_displays", "terlalu banyak layar tersambung / too many displays")
        after = int(last_event_id) if last_event_id and EVENT_ID_RE.match(last_event_id) else None
        return StreamingResponse(
            hub.stream(office_code, after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @r.get("/display/{office_code}/audio/{calling_number}/{counter}.wav", include_in_schema=False)
    def audio(office_code: str, calling_number: str, counter: int) -> Response:
        """The chime and the spoken call (espeak-ng, Bahasa Indonesia), cached per sentence:
        only for a call the office made today (the URL its call event carries)."""
        if not QUEUE_NUMBER_RE.match(calling_number) or not 1 <= counter <= MAX_COUNTER:
            fail(404, "not_found", "no such call")
        with db.transaction() as session:
            called = queue_display.was_called(
                session, office_code, calling_number, counter, today()
            )
        if not called:
            fail(404, "not_found", "no such call")
        wav = call_wav(call_sentence(calling_number, counter))
        return Response(
            wav, media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"}
        )

    return r
