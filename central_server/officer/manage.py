"""Login and logout, today's arrival queue, daily quotas and (admin) staff accounts."""

import logging
import os
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from central_server import lifecycle, quota
from central_server.addresses import local_path
from central_server.auth import (
    LOGIN_CSRF_COOKIE,
    ROLES,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    CsrfFailed,
    StaffUser,
    create_user,
)
from central_server.models import Quota
from central_server.officer.common import PageContext, field_value, offices_for, redirect
from central_server.ratelimit import client_ip
from central_server.review_models import User
from central_server.schemas import Service
from central_server.throttle import (
    DatabaseRateLimiter,
    LoginGuard,
    admin_notifier,
    audit,
)
from kiosk_app.domain.catalogue import SERVICES

log = logging.getLogger("central_server.officer")
LOCKED_TEXT = (
    "Akun ini dikunci sementara karena terlalu banyak percobaan masuk yang gagal; admin sudah "
    "diberi tahu. Coba lagi nanti. / This account is locked for a while after too many failed "
    "logins; the admins have been told."
)


def admin_addresses(configured: Sequence[str] | None) -> Callable[[], Sequence[str]]:
    """Where lockout notices go: the config's [notify] admins, else ANJUNGAN_ADMIN_NOTIFY
    ("email:it@kab.go.id,sms:+62...")."""

    def addresses() -> Sequence[str]:
        if configured is not None:
            return configured
        found = os.environ.get("ANJUNGAN_ADMIN_NOTIFY", "").split(",")
        return [a.strip() for a in found if a.strip()]

    return addresses


def router(ctx: PageContext) -> APIRouter:
    """Routes for login, queue, quotas and users."""
    r = APIRouter(include_in_schema=False)
    Officer = Annotated[StaffUser, Depends(ctx.auth.require("officer", "admin"))]
    Admin = Annotated[StaffUser, Depends(ctx.auth.require("admin"))]
    # per address (an office NAT: many officers at 08.00); the account lockout is the real guard
    limits = ctx.limits
    per_client = DatabaseRateLimiter(
        ctx.db,
        per_minute=limits.logins_per_minute_per_ip,
        burst=limits.login_burst_per_ip,
        prefix="login:ip:",
    )
    lockouts = LoginGuard(
        ctx.db,
        notify_admins=admin_notifier(admin_addresses(ctx.admin_addresses)),
        lockout_after=limits.lockout_after_failures,
        lockout=timedelta(minutes=limits.lockout_minutes),
    )

    def home_of(user: StaffUser) -> str:
        return "/officer/applications" if user.role in ("officer", "admin") else "/fleet"

    @r.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "") -> Response:
        """The login form; a random cookie + hidden field pair guards it against login CSRF."""
        token = secrets.token_urlsafe(16)
        # only a local path, and never much of what the link said, goes back into the page
        response = ctx.render(
            request, "login.html", None, next=local_path(next), login_csrf=token, error=""
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=ctx.auth.secure_cookie,
        )
        return response

    @r.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        """Check the password; on success set the signed session cookie."""
        form = await request.form()
        token, cookie = field_value(form, "login_csrf"), request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not token or not secrets.compare_digest(token, cookie):
            raise CsrfFailed()
        username, nxt = field_value(form, "username")[:64], local_path(field_value(form, "next"))
        client = client_ip(request)  # resolved through the trusted proxies only
        locked = lockouts.locked_for(username)
        wait = locked or per_client.acquire(client)
        user = None if wait else ctx.auth.authenticate(username, field_value(form, "password"))
        if user is None:
            log.warning("failed login for a staff account from %s", client)
            if not wait and lockouts.failed(username, client):
                locked = wait = lockouts.lockout.total_seconds()
            error = (
                LOCKED_TEXT
                if locked
                else "Terlalu banyak percobaan. Tunggu sebentar lalu coba lagi."
                if wait
                else "Nama pengguna atau kata sandi salah."
            )
            response = ctx.render(
                request,
                "login.html",
                None,
                429 if wait else 401,
                next=nxt,
                login_csrf=token,
                error=error,
            )
            if wait:
                response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        response = redirect(nxt or home_of(user))
        response.set_cookie(
            SESSION_COOKIE,
            ctx.auth.session_cookie(user),
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=ctx.auth.secure_cookie,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        lockouts.succeeded(username)
        log.info("staff %s logged in", user.username)
        return response

    @r.post("/logout")
    async def logout(
        request: Request, user: Annotated[StaffUser, Depends(ctx.auth.require())]
    ) -> Response:
        """End every session of this user and drop the cookie."""
        await ctx.form(request, user)
        ctx.auth.end_sessions(user.id)
        response = redirect("/login")
        response.delete_cookie(SESSION_COOKIE)
        return response

    @r.get("/officer")
    def officer_home(_user: Officer) -> Response:
        """Start page: the application list."""
        return redirect("/officer/applications")

    @r.get("/officer/queue", response_class=HTMLResponse)
    def queue(request: Request, user: Officer, office: str = "") -> Response:
        """Today's arrival queue, first come first served."""
        today = ctx.today()
        with ctx.db.transaction() as session:
            offices = offices_for(session, user)
            codes = [o.code for o in offices]
            office = office if office in codes else (user.office_code or codes[0])
            rows = lifecycle.arrival_queue(session, office, today)
        return ctx.render(
            request, "queue.html", user, rows=rows, offices=offices, office=office, today=today
        )

    @r.get("/officer/quotas", response_class=HTMLResponse)
    def quotas(request: Request, user: Officer, office: str = "") -> Response:
        """The daily quota of each service at an office."""
        with ctx.db.transaction() as session:
            offices = offices_for(session, user)
            codes = [o.code for o in offices]
            office = office if office in codes else (user.office_code or codes[0])
            values = {s.value: lifecycle.daily_quota(session, office, s.value) for s in Service}
        return ctx.render(
            request,
            "quotas.html",
            user,
            offices=offices,
            office=office,
            values=values,
            titles={k: s.title("id") for k, s in SERVICES.items()},
            maximum=quota.MAX_DAILY_QUOTA,
        )

    @r.post("/officer/quotas")
    async def save_quotas(request: Request, user: Officer) -> Response:
        """Save the daily quotas of an office (0 closes a service for booking)."""
        form = await ctx.form(request, user)
        office = field_value(form, "office")
        with ctx.db.transaction() as session:
            if office not in [o.code for o in offices_for(session, user)]:
                raise lifecycle.TransitionRefused("not_found", "unknown office", 404)
            for service in Service:
                raw = field_value(form, f"quota_{service.value}").strip()
                if not raw.isdigit() or int(raw) > quota.MAX_DAILY_QUOTA:
                    raise lifecycle.TransitionRefused("bad_input", f"bad quota for {service}", 422)
                row = session.get(Quota, (office, service.value))
                if row is None:
                    row = Quota(office_code=office, service=service.value)
                    session.add(row)
                row.daily_quota = int(raw)
        log.info("quotas of office %s set by %s", office, user.username)
        return redirect(f"/officer/quotas?office={office}&ok=quota")

    @r.get("/officer/users", response_class=HTMLResponse)
    def users(request: Request, user: Admin) -> Response:
        """Staff accounts (admin only)."""
        with ctx.db.transaction() as session:
            rows = list(session.scalars(select(User).order_by(User.username)))
            offices = offices_for(session, user)
        return ctx.render(
            request,
            "users.html",
            user,
            rows=rows,
            offices=offices,
            roles=ROLES,
            error="",
            locked=lockouts.locked(),
        )

    @r.post("/officer/users")
    async def add_user(request: Request, user: Admin) -> Response:
        """Create an account, or deactivate one (which ends its sessions)."""
        form = await ctx.form(request, user)
        unlock = field_value(form, "unlock")
        if unlock:
            lockouts.succeeded(unlock)
            audit.warning("login lock of account %s lifted by admin %s", unlock, user.username)
            return redirect("/officer/users?ok=unlocked")
        deactivate = field_value(form, "deactivate")
        if deactivate:
            with ctx.db.transaction() as session:
                known = deactivate.isascii() and deactivate.isdigit() and len(deactivate) < 10
                target = session.get(User, int(deactivate)) if known else None
                if target is None or target.id == user.id:
                    raise lifecycle.TransitionRefused(
                        "bad_input", "cannot deactivate that user", 422
                    )
                target.active = False
                target.session_version += 1
            return redirect("/officer/users?ok=deactivated")
        try:
            create_user(
                ctx.db,
                field_value(form, "username"),
                field_value(form, "password"),
                field_value(form, "role"),
                office_code=field_value(form, "office") or None,
                full_name=field_value(form, "full_name"),
            )
        except ValueError as exc:
            with ctx.db.transaction() as session:
                rows = list(session.scalars(select(User).order_by(User.username)))
                offices = offices_for(session, user)
            return ctx.render(
                request,
                "users.html",
                user,
                422,
                rows=rows,
                offices=offices,
                roles=ROLES,
                error=str(exc),
                locked=lockouts.locked(),
            )
        return redirect("/officer/users?ok=created")

    return r
