"""The dashboard's enrolment-code page: technicians create one-time codes for new kiosks.

Codes come from KioskAuth.create_code (as POST /api/v1/enrolment-codes); the page shows a new
code once, then lists codes by office, kiosk and times only: the database keeps their hash.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select

from central_server.addresses import public_base
from central_server.fleet.access import Staff, StaffAccess
from central_server.fleet.service import utc
from central_server.kiosk_auth import EnrolmentCode, EnrolmentCodeIn, EnrolmentCodeOut, KioskAuth
from central_server.models import Office
from kiosk_app.domain.opening_hours import ZONES

log = logging.getLogger(__name__)

PATH = "/fleet/enrolment-codes"
RECENTLY_USED = timedelta(days=7)
MAX_ROWS = 200
DEFAULT_HOURS = EnrolmentCodeIn.model_fields["valid_hours"].default
WITA_PROVINCES = {51, 52, 53, 63, 64, 65, 71, 72, 73, 74, 75, 76}  # Bali, Nusa Tenggara, ...
ERRORS = {
    "csrf": "Formulir kedaluwarsa, muat ulang halaman / form expired, reload the page",
    "invalid": "Isian tidak valid / invalid input",
    "unknown_office": "Kantor tidak dikenal / unknown office",
}


def office_zone(office_code: str) -> timezone:
    """An office's local time from its province (the code's first two digits); WIB by default."""
    province = int(office_code[:2]) if office_code[:2].isdigit() else 0
    if province in WITA_PROVINCES:
        return ZONES["WITA"]
    return ZONES["WIT"] if province >= 81 else ZONES["WIB"]


def local_time(value: datetime | None, office_code: str) -> str:
    """'2026-11-23 14:05 WITA': a stored UTC time in the office's local time."""
    if value is None:
        return ""
    zone = office_zone(office_code)
    return f"{utc(value).astimezone(zone):%Y-%m-%d %H:%M} {zone.tzname(None)}"


@dataclass(frozen=True)
class CodeRow:
    """An enrolment code as listed: never the code (nor its hash)."""

    office_code: str
    office_name: str
    kiosk_id: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: str | None


def listing(auth: KioskAuth, now: datetime) -> tuple[list[CodeRow], list[CodeRow]]:
    """Codes waiting (unused, unexpired; newest first) and codes used in the last seven days."""
    columns = (
        EnrolmentCode.office_code,
        Office.name,
        EnrolmentCode.kiosk_id,
        EnrolmentCode.created_at,
        EnrolmentCode.expires_at,
        EnrolmentCode.used_at,
        EnrolmentCode.used_by,
    )
    query = select(*columns).join(Office, Office.code == EnrolmentCode.office_code)
    waiting = query.where(EnrolmentCode.used_at.is_(None), EnrolmentCode.expires_at > now)
    used = query.where(EnrolmentCode.used_at >= now - RECENTLY_USED)
    with auth.db.transaction() as session:
        return (
            [
                CodeRow(*row)
                for row in session.execute(
                    waiting.order_by(EnrolmentCode.created_at.desc()).limit(MAX_ROWS)
                )
            ],
            [
                CodeRow(*row)
                for row in session.execute(
                    used.order_by(EnrolmentCode.used_at.desc()).limit(MAX_ROWS)
                )
            ],
        )


def build_router(
    auth: KioskAuth,
    access: StaffAccess,
    templates: Jinja2Templates,
    offices: Callable[[], list[tuple[str, str]]],
) -> APIRouter:
    """GET/POST /fleet/enrolment-codes for technicians and admins (as remote commands)."""
    router = APIRouter(include_in_schema=False)
    PageStaff = Annotated[Staff, Depends(access.page)]

    def page(
        request: Request,
        staff: Staff,
        status_code: int = 200,
        *,
        created: EnrolmentCodeOut | None = None,
        error: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        waiting, used = listing(auth, datetime.now(UTC))
        response = templates.TemplateResponse(
            request,
            "enrolment.html",
            {
                "staff": staff,
                "csrf": access.csrf_token(staff),
                "offices": offices(),
                "waiting": waiting,
                "used": used,
                "created": created,
                "local": local_time,
                "error": ERRORS.get(error or ""),
                "form": form or {"valid_hours": str(DEFAULT_HOURS)},
                "central_url": public_base(request),  # never from the Host header
            },
            status_code=status_code,
        )
        response.headers["Cache-Control"] = "no-store"  # a new code must not stay in a cache
        return response

    @router.get(PATH, response_class=HTMLResponse)
    def enrolment_codes(request: Request, staff: PageStaff) -> Response:
        """The form and the codes waiting or recently used."""
        return page(request, staff)

    @router.post(PATH, response_class=HTMLResponse)
    def create_enrolment_code(
        request: Request,
        staff: PageStaff,
        csrf: Annotated[str, Form(max_length=200)],
        office_code: Annotated[str, Form(max_length=4)],
        kiosk_id: Annotated[str, Form(max_length=64)] = "",  # required: checked by the model
        valid_hours: Annotated[str, Form(max_length=4)] = str(DEFAULT_HOURS),
    ) -> Response:
        """Create a code and show it once (form errors show the form again)."""
        form = {"office_code": office_code, "kiosk_id": kiosk_id, "valid_hours": valid_hours}
        if not access.csrf_ok(staff, csrf):
            return page(request, staff, 403, error="csrf", form=form)
        try:
            # the form's text goes through the model's own coercion, as a JSON body's would
            body = EnrolmentCodeIn.model_validate(
                {
                    "office_code": office_code,
                    "kiosk_id": kiosk_id.strip(),
                    "valid_hours": valid_hours,
                }
            )
            created = auth.create_code(body)
        except ValidationError:
            return page(request, staff, 422, error="invalid", form=form)
        except HTTPException as exc:
            return page(request, staff, exc.status_code, error="unknown_office", form=form)
        log.info(
            "enrolment code for office %s created on the dashboard by %s",
            created.office_code,
            staff.name,
        )
        return page(request, staff, 201, created=created)

    return router
