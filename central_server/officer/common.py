"""Shared pieces of the officer pages: templates, rendering, errors, office scoping."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from central_server.addresses import local_path, referer_path
from central_server.auth import Auth, CsrfFailed, Forbidden, LoginRequired, StaffUser
from central_server.config import LimitSettings
from central_server.db import Database
from central_server.lifecycle import STATE_LABELS, TransitionRefused
from central_server.models import Application, Office
from central_server.server_seal import ServerSealer
from kiosk_app.domain.dates import long_date

log = logging.getLogger("central_server.officer")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["state_labels"] = STATE_LABELS
TEMPLATES.env.filters["long_date"] = lambda d: long_date(d) if d else ""

ERROR_TEXTS: dict[str, str] = {
    "illegal_transition": "Tindakan ini tidak bisa dilakukan pada status permohonan sekarang.",
    "slot_full": "Jadwal verifikasi itu sudah penuh. Pilih tanggal atau sesi lain.",
    "slot_unavailable": "Jadwal verifikasi itu tidak bisa dipilih (hari libur, lewat, atau "
    "terlalu jauh).",
    "notes_required": "Tulis paling sedikit satu catatan perbaikan untuk pemohon.",
    "reason_required": "Tulis alasannya.",
    "no_delivery": "Pemohon tidak memilih pengiriman lewat Pos.",
    "not_approved": "Hanya permohonan yang sudah disetujui yang bisa ditandai hadir.",
    "wrong_day": "Jadwal verifikasi pemohon bukan hari ini.",
    "already_arrived": "Pemohon sudah ditandai hadir.",
    "not_arrived": "Pemohon belum ditandai hadir di loket. Verifikasi dilakukan setelah pemohon "
    "datang pada hari jadwalnya.",
    "holder_name": "Nama pemilik dokumen wajib diisi.",
    "holder_nik": "NIK pemilik dokumen harus 16 angka.",
    "search_nik": "NIK yang dicari harus 16 angka. / The NIK searched for must have 16 digits.",
    "bad_input": "Isian formulir tidak lengkap atau tidak sah.",
    "content_held": "Isian permohonan ini ditahan untuk diperiksa. Periksa isiannya lalu lepas "
    "tahanan, atau minta perbaikan.",
    "not_held": "Permohonan ini tidak ditahan.",
    "counter_busy": "Loket ini masih melayani pemohon. Selesaikan, alihkan, atau tandai tidak "
    "hadir dulu.",
    "nobody_called": "Loket ini belum memanggil siapa pun.",
    "not_enough_calls": "Panggil pemohon tiga kali sebelum menandai tidak hadir.",
    "not_checked_in": "Pemohon belum check-in hari ini.",
    "already_served": "Pemohon sudah selesai dilayani; tidak lagi dalam antrean.",
}


@dataclass(frozen=True)
class PageContext:
    """What every page handler needs."""

    db: Database
    auth: Auth
    today: Callable[[], date]
    limits: LimitSettings = field(default_factory=LimitSettings)  # login rates and lockout
    admin_addresses: Sequence[str] | None = None  # lockout notices; None: ANJUNGAN_ADMIN_NOTIFY
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # leases expire by
    sealer: ServerSealer | None = None  # seals applications moved to another slot

    def render(
        self,
        request: Request,
        name: str,
        user: StaffUser | None,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        """Render a template with the user, their CSRF token and the flash message."""
        base = {
            "user": user,
            "csrf_token": self.auth.csrf_token(user) if user else "",
            "ok": request.query_params.get("ok", ""),
        }
        return TEMPLATES.TemplateResponse(request, name, base | context, status_code=status_code)

    async def form(self, request: Request, user: StaffUser) -> FormData:
        """The posted form after checking its CSRF token."""
        form = await request.form()
        token = form.get("csrf_token")
        self.auth.check_csrf(user, token if isinstance(token, str) else None)
        return form


def offices_for(session: Session, user: StaffUser) -> list[Office]:
    """Offices a user may work on: all for an admin, their own for an officer."""
    rows = session.scalars(select(Office).order_by(Office.code))
    return [o for o in rows if user.may_see_office(o.code)]


def load_application(
    session: Session, user: StaffUser, registration_number: str, *, lock: bool = False
) -> Application:
    """The application if it exists and the user may see it (404 otherwise: no existence leak);
    `lock`: its row locked for the transaction (an action on it), FOR NO KEY UPDATE as an
    UPDATE of it locks: another action waits, a row referring to it (a counter's queue event
    on its citizen) does not (the lock order: queue.counters)."""
    query = select(Application).where(Application.registration_number == registration_number)
    app = session.scalar(query.with_for_update(key_share=True) if lock else query)
    if app is None or not user.may_see_office(app.office_code):
        raise TransitionRefused("not_found", "unknown registration number", 404)
    return app


def redirect(url: str) -> RedirectResponse:
    """303 See Other: the browser follows with a GET (post/redirect/get)."""
    return RedirectResponse(url, status_code=303)


def field_value(form: FormData, name: str, default: str = "") -> str:
    """A form field as a string."""
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def add_exception_handlers(app: FastAPI, ctx: PageContext) -> None:
    """Login redirects, role refusals, CSRF failures and refused transitions as pages or JSON."""

    @app.exception_handler(LoginRequired)
    def _login(request: Request, _exc: LoginRequired) -> Response:
        query = request.scope.get("query_string", b"").decode("latin-1")
        target = local_path(quote(request.scope["path"]) + (f"?{query}" if query else ""))
        return redirect(f"/login?next={quote(target)}" if target else "/login")  # too long: none

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, _exc: Forbidden) -> Response:
        message = "Peran Anda tidak berhak membuka halaman atau melakukan tindakan ini."
        return ctx.render(request, "error.html", ctx.auth.user(request), 403, message=message)

    @app.exception_handler(CsrfFailed)
    def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        log.warning("CSRF check failed on %s from %s", request.url.path, request.client)
        message = "Formulir sudah kedaluwarsa atau tidak sah. Muat ulang halaman lalu coba lagi."
        return ctx.render(request, "error.html", ctx.auth.user(request), 403, message=message)

    @app.exception_handler(DataError)
    def _unstorable(request: Request, exc: DataError) -> Response:
        # Input the database refuses as data (PostgreSQL: a NUL character, a number beyond
        # its column) is the client's fault, wherever validation let it through: no 500.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else ""  # no values
        log.warning("input refused by the database on %s: %s", request.url.path, reason)
        message = "input holds characters or numbers the server cannot store"
        return _refused(request, TransitionRefused("bad_input", message, 422))

    @app.exception_handler(TransitionRefused)
    def _refused(request: Request, exc: TransitionRefused) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": {"code": exc.code, "message": exc.message}}, exc.status)
        message = ERROR_TEXTS.get(
            exc.code,
            "Permohonan tidak ditemukan."
            if exc.status == 404
            else "Tindakan tidak bisa dilakukan.",
        )
        return ctx.render(
            request,
            "error.html",
            ctx.auth.user(request),
            exc.status,
            message=message,
            detail=exc.message,
            back=referer_path(request),  # a path on this server, whatever the header said
        )
