"""Scans of supporting documents: a kiosk uploads them to the applications it submitted."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from central_server.db import Database
from central_server.downloads import looks_like
from central_server.kiosk_auth import KioskGuard, KioskRef
from central_server.lifecycle import TransitionRefused
from central_server.models import Application
from central_server.review_models import ApplicationScan
from central_server.settings import now_wib

SCAN_TYPES = {"image/png", "image/jpeg", "application/pdf"}
SCAN_NAME = r"^[A-Za-z0-9_-]{1,64}$"
# The body is the file itself (read from the request, so FastAPI cannot document it); it must
# also start the way its type does (central_server.downloads), which JSON Schema cannot say.
SCAN_BODY = {
    "required": True,
    "content": {
        kind: {"schema": {"type": "string", "format": "binary", "minLength": 1}}
        for kind in sorted(SCAN_TYPES)
    },
}


def upload_router(db: Database, kiosk_dependency: KioskGuard, max_bytes: int) -> APIRouter:
    """PUT /api/v1/applications/{number}/scans/{name}: a kiosk uploads a scanned document of at
    most `max_bytes` ([limits] max_scan_bytes)."""
    r = APIRouter()
    Kiosk = Annotated[KioskRef, Depends(kiosk_dependency)]

    @r.put(
        "/api/v1/applications/{registration_number}/scans/{name}",
        status_code=204,
        responses={404: {"description": "unknown application"}, 413: {}, 415: {}},
        openapi_extra={"requestBody": SCAN_BODY},
    )
    async def upload_scan(
        request: Request,
        registration_number: str,
        name: Annotated[str, Path(pattern=SCAN_NAME)],
        kiosk: Kiosk,
    ) -> Response:
        """Store (or replace) one scan of an application this kiosk submitted (another kiosk,
        even of the same office, must not replace the documents an officer checks)."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type not in SCAN_TYPES:
            raise TransitionRefused("unsupported_type", f"send one of {sorted(SCAN_TYPES)}", 415)
        content = await request.body()
        if not content or len(content) > max_bytes:
            raise TransitionRefused("too_large", f"scans are 1 byte to {max_bytes} bytes", 413)
        if not looks_like(content_type, content):
            raise TransitionRefused("not_that_type", f"the scan is not a {content_type} file", 415)
        with db.transaction() as session:
            app = session.scalar(
                select(Application).where(Application.registration_number == registration_number)
            )
            if (
                app is None
                or app.kiosk_id != kiosk.kiosk_id
                or app.office_code != kiosk.office_code
            ):
                raise TransitionRefused("not_found", "unknown registration number", 404)
            row = session.scalar(
                select(ApplicationScan).where(
                    ApplicationScan.application_id == app.id, ApplicationScan.name == name
                )
            )
            if row is None:
                row = ApplicationScan(application_id=app.id, name=name)
                session.add(row)
            row.content_type, row.content = content_type, content
            row.uploaded_at = now_wib()
        return Response(status_code=204)

    return r
