"""What anyone may open: the liveness probe, the verification page of issued documents and
the one of receipt seals (a ticket's or receipt's QR)."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from central_server import seals
from central_server.db import Database
from central_server.issued import verification_router
from central_server.officer.common import TEMPLATES
from central_server.server_seal import ServerSealer


def router(db: Database, sealer: ServerSealer | None = None) -> APIRouter:
    """GET /health and GET /verify/{code} (the QR printed on every issued document)."""
    r = APIRouter()

    @r.get("/health")
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    r.include_router(verification_router(db))

    @r.get("/r/{seal}", response_class=HTMLResponse, include_in_schema=False)
    def verify_seal(request: Request, seal: str) -> Response:
        """Public check of a receipt seal: genuine (a kiosk's or the server's), superseded
        (moved to another slot), altered or forged, unknown kiosk; whether its application has
        arrived. No personal data. HTML, or JSON when asked for."""
        with db.transaction() as session:
            context = seals.describe(session, seal[: seals.MAX_TYPED], sealer)
        found = context["check"].status != seals.MALFORMED
        status_code = 200 if found else 404
        if "application/json" in request.headers.get("accept", ""):  # scripts, the tests
            return JSONResponse(seals.verdict(context["check"]), status_code)
        return TEMPLATES.TemplateResponse(request, "seal_public.html", context, status_code)

    return r
