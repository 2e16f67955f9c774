"""FastAPI application of the reference central server: kiosk enrolment, slots, applications."""

import hashlib
import hmac
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, NoReturn

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central_server import (
    batch_submit,
    lifecycle,
    officer,
    print_api,
    quota,
    regions,
    surveys,
)
from central_server.admission import Admission, Refused, Submission, booked
from central_server.db import Database
from central_server.fleet import Fleet, StaffAccess
from central_server.kiosk_auth import KioskAuth, KioskRef, kiosk_claims_guard, kiosk_guard
from central_server.kiosk_auth import build_router as build_enrolment_router
from central_server.models import Office, Quota
from central_server.notify import Channel
from central_server.ratelimit import StatusLookupLimiter
from central_server.schemas import (
    ApplicationIn,
    ApplicationStatusOut,
    Error,
    QuotaIn,
    QuotaOut,
    Service,
    SlotOut,
    SubmissionOut,
)
from central_server.settings import DEFAULT_DATABASE_URL, DEFAULT_OFFICES, today_wib
from central_server.status import StatusLookup

log = logging.getLogger("central_server")

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "Missing or invalid bearer token"},
}


def _fail(status: int, code: str, message: str, **extra: Any) -> NoReturn:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    raise HTTPException(status, {"code": code, "message": message, **extra}, headers=headers)


def hash_token(token: str) -> str:
    """SHA-256 of a bearer token (tokens are 256-bit random, so no salt or stretching needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_app(
    database_url: str = DEFAULT_DATABASE_URL,
    *,
    today: Callable[[], date] | None = None,
    admin_token: str | None = None,
    offices: Iterable[tuple[str, str]] = (),
    channels: Mapping[str, Channel] | None = None,
    secret_key: str | None = None,
    status_limiter: StatusLookupLimiter | None = None,
    open_enrolment: bool | None = None,
    token_secret: str | None = None,
) -> FastAPI:
    """Build the app on `database_url`; `today` fixes the calendar (tests), default WIB today.

    Kiosks enrol with a one-time code from a technician; `open_enrolment` (default: on only
    without an admin token, i.e. a development server) lets any kiosk enrol without one.
    """
    db = Database(database_url)
    db.create_all(DEFAULT_OFFICES + tuple(offices))
    today_fn = today or today_wib
    admin_secret = (
        admin_token if admin_token is not None else os.environ.get("ANJUNGAN_ADMIN_TOKEN")
    )
    bearer = HTTPBearer(auto_error=False)
    Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        review.start()
        yield
        review.stop()
        await fleet.aclose()
        await status_lookup.aclose()
        db.dispose()

    app = FastAPI(title="Anjungan central server", version="1.0", lifespan=lifespan)
    app.state.db = db

    if open_enrolment is None:
        flag = os.environ.get("ANJUNGAN_OPEN_ENROLMENT")
        open_enrolment = flag == "1" if flag is not None else not admin_secret
    kiosk_auth = KioskAuth(db, secret=token_secret, open_enrolment=open_enrolment)
    current_kiosk = kiosk_guard(kiosk_auth)  # kiosk tokens only; staff credentials get 401

    def require_admin(credentials: Credentials) -> None:
        """Admin guard: a shared token until officer login arrives (a later issue)."""
        if not admin_secret:
            _fail(403, "admin_disabled", "set ANJUNGAN_ADMIN_TOKEN to enable admin endpoints")
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), admin_secret.encode()
        ):
            _fail(401, "unauthorized", "admin token required")

    KioskDep = Annotated[KioskRef, Depends(current_kiosk)]
    status_lookup = StatusLookup(db)
    review = officer.install(
        app,
        db,
        today=today_fn,
        kiosk_dependency=current_kiosk,
        channels=channels,
        secret_key=secret_key,
        status_limiter=status_limiter,
    )
    staff_access = StaffAccess(admin_secret, kiosk_auth.signing_key, review.auth)
    fleet = Fleet(
        db,
        current_kiosk,
        kiosk_claims_guard(kiosk_auth),
        staff_access,
        fast_claims=kiosk_auth.async_claims,
    )
    app.include_router(build_enrolment_router(kiosk_auth, staff_access.api))
    fleet.install(app, kiosk_auth)
    app.include_router(surveys.router(db, current_kiosk, review.auth, today_fn))
    app.include_router(print_api.build_router(db, current_kiosk))  # card holder, print codes
    app.include_router(regions.build_router(db, current_kiosk))  # region master list

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    @app.put(
        "/api/v1/offices/{office_code}/quotas/{service}",
        response_model=QuotaOut,
        responses={**ERRORS, 403: {"model": Error}, 404: {"model": Error}},
        dependencies=[Depends(require_admin)],
    )
    def set_quota(office_code: str, service: Service, body: QuotaIn) -> QuotaOut:
        """Set the daily quota of a service (admin token; officer login comes in a later issue)."""
        with db.transaction() as session:
            if session.get(Office, office_code) is None:
                _fail(404, "unknown_office", f"office {office_code} is not configured")
            row = session.get(Quota, (office_code, service.value))
            if row is None:
                row = Quota(office_code=office_code, service=service.value)
                session.add(row)
            row.daily_quota = body.daily_quota
        return QuotaOut(office_code=office_code, service=service, daily_quota=body.daily_quota)

    @app.get("/api/v1/slots", response_model=list[SlotOut], responses=ERRORS)
    def slots(
        kiosk: KioskDep,
        service: Service,
        days: Annotated[int, Query(ge=1, le=quota.MAX_DAYS_AHEAD)] = 10,
    ) -> list[SlotOut]:
        """Bookable slots of the kiosk's office in the next `days` calendar days."""
        candidates = quota.verification_days(today_fn(), days)
        with db.transaction() as session:
            q = lifecycle.daily_quota(session, kiosk.office_code, service.value)
            used = booked(session, kiosk.office_code, service.value, candidates)
        result = []
        for day in candidates:
            for window in quota.windows_on(day):
                left = quota.window_capacity(q, window) - used.get((day, window), 0)
                if left > 0:
                    result.append(SlotOut(date=day, window=window, remaining=left))
        return result

    admission = Admission(today_fn)

    @app.post(
        "/api/v1/applications",
        status_code=201,
        response_model=SubmissionOut,
        responses={**ERRORS, 400: {"model": Error}, 409: {"model": Error}},
    )
    def submit(
        body: ApplicationIn,
        kiosk: KioskDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Create a pre-application; a repeated Idempotency-Key replays the first answer."""
        if idempotency_key is None or not 8 <= len(idempotency_key) <= 128:
            _fail(400, "idempotency_key_required", "Idempotency-Key header of 8-128 chars required")
        with db.transaction() as session:
            [outcome] = admission.admit(session, kiosk, [Submission(idempotency_key, body)])
        if isinstance(outcome, Refused):
            _fail(outcome.status, outcome.code, outcome.message, **outcome.extra)
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return JSONResponse(outcome.answer, outcome.status, headers)

    app.include_router(batch_submit.build_router(db, current_kiosk, admission))

    @app.get(
        "/api/v1/applications/{registration_number}",
        response_model=ApplicationStatusOut,
        responses={**ERRORS, 404: {"model": Error}, 429: {"model": Error}},
    )
    async def application_status(
        registration_number: str, kiosk: KioskDep, request: Request
    ) -> Response:
        """Public status of an application (no NIK, masked name); rate-limited per kiosk/IP."""
        review.status_limiter.check(request, kiosk.kiosk_id)
        found = await status_lookup.fetch(registration_number)
        if found is None:
            _fail(404, "not_found", "unknown registration number")
        return Response(found.model_dump_json(), media_type="application/json")

    return app
