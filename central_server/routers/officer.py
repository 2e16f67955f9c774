"""Officer and admin pages (login, queue, applications, quotas, users, IKM, the card-holder
audit) and the admin API."""

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from central_server import surveys
from central_server.errors import UNAUTHORIZED as ERRORS
from central_server.errors import fail
from central_server.models import Office, Quota
from central_server.officer import lookups, manage, pages
from central_server.officer.common import PageContext
from central_server.schemas import Error, QuotaIn, QuotaOut, Service

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))]


def admin_guard(admin_secret: str | None) -> Callable[[Credentials], None]:
    """Admin API guard: a shared token (officers use their login on the pages)."""

    def require_admin(credentials: Credentials) -> None:
        if not admin_secret:
            fail(403, "admin_disabled", "set ANJUNGAN_ADMIN_TOKEN to enable admin endpoints")
        if credentials is None or not hmac.compare_digest(
            credentials.credentials.encode(), admin_secret.encode()
        ):
            fail(401, "unauthorized", "admin token required")

    return require_admin


def router(ctx: PageContext, admin_secret: str | None) -> APIRouter:
    """The officers' pages and the quota API (admin token)."""
    r = APIRouter()
    r.include_router(manage.router(ctx))
    r.include_router(pages.router(ctx))
    r.include_router(surveys.officer_router(ctx))
    r.include_router(lookups.router(ctx))  # the card-holder audit (admins)

    @r.put(
        "/api/v1/offices/{office_code}/quotas/{service}",
        response_model=QuotaOut,
        responses={**ERRORS, 403: {"model": Error}, 404: {"model": Error}},
        dependencies=[Depends(admin_guard(admin_secret))],
    )
    def set_quota(office_code: str, service: Service, body: QuotaIn) -> QuotaOut:
        """Set the daily quota of a service (admin token; officer login comes in a later issue)."""
        with ctx.db.transaction() as session:
            if session.get(Office, office_code) is None:
                fail(404, "unknown_office", f"office {office_code} is not configured")
            row = session.get(Quota, (office_code, service.value))
            if row is None:
                row = Quota(office_code=office_code, service=service.value)
                session.add(row)
            row.daily_quota = body.daily_quota
        return QuotaOut(office_code=office_code, service=service, daily_quota=body.daily_quota)

    return r
