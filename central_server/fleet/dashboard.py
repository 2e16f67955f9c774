"""The technicians' dashboard: server-rendered pages (Jinja2), forms, an inline SVG chart."""

import tomllib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from central_server import key_change, lease_reports, leases, seals
from central_server.auth import SESSION_COOKIE
from central_server.downloads import download
from central_server.fleet import alerts, cancel_page
from central_server.fleet.access import (
    COOKIE,
    LOGIN_PATH,
    SESSION_MAX_AGE_S,
    LoginRequired,
    Staff,
    StaffAccess,
)
from central_server.fleet.chart import Series, history_svg
from central_server.fleet.models import UNFINISHED
from central_server.fleet.schemas import CommandId, CommandIn, CommandKind
from central_server.fleet.service import STATUSES, Filters, FleetService, utc
from central_server.ratelimit import client_ip
from central_server.throttle import DatabaseRateLimiter

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
COMMAND_LABELS = {
    CommandKind.print_test_ticket: "Cetak tiket uji / Print test ticket",
    CommandKind.upload_logs: "Unggah log / Upload logs",
    CommandKind.screenshot: "Tangkapan layar (data pribadi dikaburkan) / Screenshot (blurred)",
    CommandKind.push_config: "Kirim pengaturan / Push config",
    CommandKind.check_seal_key: "Periksa kunci segel / Check the seal key",
    CommandKind.rotate_seal_key: "Ganti kunci segel / Rotate the seal key",
    CommandKind.clear_copy_reports: (
        "Hapus laporan salinan yang ditolak / Clear refused receipt-copy reports"
    ),
    CommandKind.restart_app: "Mulai ulang aplikasi / Restart app",
    CommandKind.reboot: "Nyalakan ulang anjungan / Reboot kiosk",
}
# Commands asked again on a confirmation page: those that end a citizen's session on the kiosk,
# and the seal key's rotation (the key that signs every offline ticket changes).
DISRUPTIVE = {
    CommandKind.restart_app: (
        "Aplikasi anjungan akan dimulai ulang (sekitar 30 detik). Warga yang sedang dilayani "
        "kehilangan isian yang belum dikirim. / The kiosk app restarts (about 30 s); a citizen "
        "being served loses what was not sent yet."
    ),
    CommandKind.reboot: (
        "Anjungan akan dinyalakan ulang (beberapa menit tidak bisa dipakai). Warga yang sedang "
        "dilayani kehilangan isian yang belum dikirim. / The kiosk reboots (unusable for a few "
        "minutes); a citizen being served loses what was not sent yet."
    ),
    CommandKind.rotate_seal_key: (
        "Anjungan membuat kunci segel baru dan mendaftarkannya dengan bukti kunci lamanya: "
        "kunci baru langsung berlaku, tiket yang disegel sebelumnya tetap sah. Warga yang sedang "
        "dilayani tidak terganggu. / The kiosk makes a new seal key and registers it proven "
        "with its old one: the new key is in force at once, tickets sealed before stay valid. "
        "A citizen being served is not interrupted."
    ),
}
# Commands only a page action queues (with its own confirmation), not the command form.
PAGE_ACTIONS = {CommandKind.clear_copy_reports}
STATUS_LABELS = {
    "online": "Terhubung / online",
    "offline": "Terputus / offline",
    "missing": "Tidak melapor lebih dari sehari / missing",
}
COLOUR_LABELS = {
    "red": "Kritis / critical",
    "amber": "Perlu perhatian / warning",
    "green": "Baik / OK",
    "grey": "Tidak melapor / not reporting",
}

COMMAND_STATUS_LABELS = {
    "queued": "Antre, belum dikirim / queued, not sent yet",
    # handed out, not acknowledged yet: the answer may have been lost (handed out again)
    "sent": "Dikirim, menunggu anjungan / sent, awaiting the kiosk",
    "received": "Diterima anjungan, hasil belum masuk / received by the kiosk, no result yet",
    "done": "Selesai / done",
    "failed": "Gagal / failed",
    "cancelled": "Dibatalkan teknisi / cancelled by a technician",
}
ALERT_STATE_LABELS = {"open": "Masih aktif / open", "cleared": "Sudah selesai / cleared"}
KEY_STATE_LABELS = {
    "in_force": "Berlaku / in force",
    "pending": "Menunggu persetujuan / pending approval",
    "rejected": "Ditolak / rejected",
}
# Why a kiosk page's form was refused (the redirect's ?error=): only these texts are shown,
# never the query's own text.
FORM_ERRORS = {
    "csrf": "formulir kedaluwarsa, muat ulang halaman / form expired, reload the page",
    "bad_command": "perintah tidak dikenal / unknown command",
    "key_decided": "kunci segel itu sudah diputuskan / that seal key was decided already",
    "no_refused": "anjungan tidak melaporkan laporan salinan yang ditolak / the kiosk reports "
    "no refused receipt-copy reports",
    "copies_unseen": "laporan salinan yang ditolak tidak sesuai halaman, muat ulang halaman / "
    "the refused receipt-copy reports do not match the page, reload it",
    **cancel_page.ERRORS,
}
KEY_DECISIONS = {  # the kiosk page's notice after a decision (?key=)
    "approved": "Kunci segel disetujui: berlaku sejak diajukan / Seal key approved: in force "
    "from when it was submitted",
    "rejected": "Kunci segel ditolak: segel dengan kunci itu tidak sah / Seal key rejected: "
    "seals signed with it are not valid",
}


def alert_text(code: str) -> str:
    """An alert in words (Bahasa Indonesia / English), the code itself if unknown."""
    return alerts.ALERTS.get(code, (alerts.WARNING, code))[1]


TEMPLATES.env.globals.update(
    alert_text=alert_text,
    status_label=STATUS_LABELS.get,
    colour_label=COLOUR_LABELS.get,
    command_status_label=COMMAND_STATUS_LABELS.get,
    alert_state_label=ALERT_STATE_LABELS.get,
    key_state_label=KEY_STATE_LABELS.get,
    cancel_note=cancel_page.cancel_note,
    cancellable=lambda c: cancel_page.refusal(c) is None,
)


def build_dashboard(
    service: FleetService, access: StaffAccess, lease_clock: Callable[[], datetime] | None = None
) -> APIRouter:
    """Routes under /fleet (excluded from the OpenAPI document); `lease_clock`: the clock slot
    leases expire by (the server's, default the fleet's)."""
    lease_now = lease_clock or service.clock
    router = APIRouter(prefix="/fleet", include_in_schema=False)
    StaffDep = Annotated[Staff, Depends(access.page)]

    def render(request: Request, name: str, status_code: int = 200, **context: object) -> Response:
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request) -> Response:
        """The technician login form."""
        return render(request, "login.html", error=None)

    # token guesses per client address (through trusted proxies), counted on every app server
    guesses = DatabaseRateLimiter(service.db, per_minute=10, burst=30, prefix="fleet-login:ip:")

    @router.post("/login")
    def login(request: Request, token: Annotated[str, Form(max_length=200)]) -> Response:
        """Check the staff token and set the session cookie."""
        wait = guesses.acquire(client_ip(request))
        if wait is not None:
            response = render(
                request, "login.html", 429, error="Terlalu banyak percobaan / too many attempts"
            )
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        if not access.check_token(token):
            return render(request, "login.html", 401, error="Token tidak dikenal / unknown token")
        response = RedirectResponse("/fleet/", status_code=303)
        response.set_cookie(
            COOKIE,
            access.session_cookie(Staff("technician", "technician")),
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="strict",
            path="/",
            secure=bool(getattr(access.staff_auth, "secure_cookie", False)),
        )
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        """Forget the session cookie; a staff login's session ends (as /logout ends it)."""
        staff_auth = access.staff_auth
        user = staff_auth.user(request) if staff_auth is not None else None
        if user is not None:  # else its cookie still opened every page afterwards
            staff_auth.end_sessions(user.id)
        response = RedirectResponse(LOGIN_PATH if user is None else "/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        if user is not None:
            response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/", response_class=HTMLResponse)
    def fleet(
        request: Request,
        staff: StaffDep,
        office: str | None = None,
        problem: str | None = None,
        status: str | None = None,
    ) -> Response:
        """Every kiosk with its colour, filterable by office, problem and status."""
        office = office if office and office.isdigit() and len(office) == 4 else None
        problem = problem if problem in (*alerts.PROBLEM_CODES, "any") else None
        status = status if status in STATUSES else None
        kiosks = service.kiosks(Filters(office, problem, status))
        counts = {c: sum(k.colour == c for k in kiosks) for c in ("red", "amber", "green", "grey")}
        with service.db.transaction() as session:
            lease_totals = leases.totals(session, lease_now())
        return render(
            request,
            "fleet.html",
            staff=staff,
            kiosks=kiosks,
            counts=counts,
            offices=service.offices(),
            problems=alerts.ALERTS,
            statuses=STATUSES,
            selected={"office": office, "problem": problem, "status": status},
            lease_totals=lease_totals,
        )

    @router.get("/kiosks/{kiosk_id}", response_class=HTMLResponse)
    def kiosk_page(request: Request, kiosk_id: str, staff: StaffDep) -> Response:
        """One kiosk: devices, alerts, a 24-hour chart, commands and their results."""
        kiosk = service.kiosk(kiosk_id)
        samples = service.samples(kiosk_id)
        commands = service.commands(kiosk_id)
        with service.db.transaction() as session:
            held = leases.of_kiosk(session, kiosk_id, lease_now())
            lease_total = leases.totals(session, lease_now()).get(kiosk_id, leases.LeaseTotals())
            doubtful = lease_reports.doubtful(session, kiosk_id, lease_now())
            signing_keys = seals.key_history(session, kiosk_id)
        end = service.clock()
        start = end - timedelta(hours=24)

        series = [
            Series("Disk free %", "#1f77b4", [(utc(s.at), s.disk_free_pct) for s in samples], 100),
            Series("CPU °C (of 100)", "#d62728", [(utc(s.at), s.cpu_temp_c) for s in samples], 100),
            Series(
                "Outbox (of 50)",
                "#2ca02c",
                [(utc(s.at), float(s.outbox_depth)) for s in samples],
                50,
            ),
            Series(
                "Held (of 10)",
                "#9467bd",
                [(utc(s.at), float(s.held_submissions)) for s in samples],
                10,
            ),
        ]
        return render(
            request,
            "kiosk.html",
            staff=staff,
            kiosk=kiosk,
            alert_texts={code: alerts.ALERTS.get(code, (1, code))[1] for code in kiosk.alerts},
            refusals=service.over_budget(kiosk_id),
            chart=history_svg(series, start, end),
            sample_count=len(samples),
            commands=commands,
            unacknowledged=[c for c in commands if c.unacknowledged],
            unacknowledged_minutes=int(alerts.UNACKNOWLEDGED_AFTER.total_seconds() // 60),
            command_labels=COMMAND_LABELS,
            command_choices={k: v for k, v in COMMAND_LABELS.items() if k not in PAGE_ACTIONS},
            refused_copies=_refused_copies(kiosk.devices),
            copies_cleared=request.query_params.get("copies") == "cleared",
            leases=held,
            lease_total=lease_total,
            doubtful=doubtful,
            in_doubt=sum(x.places - x.used for x in doubtful),
            released=_count(request.query_params.get("released")),
            cancelled=_count(request.query_params.get("cancelled")),
            signing_keys=signing_keys,
            pending_keys=[k for k in signing_keys if k.state == seals.PENDING],
            rejected_keys=[k for k in signing_keys if k.state == seals.REJECTED],
            key_decision=KEY_DECISIONS.get(request.query_params.get("key") or ""),
            csrf=access.csrf_token(staff),
            error=FORM_ERRORS.get(request.query_params.get("error") or ""),
        )

    @router.post("/kiosks/{kiosk_id}/commands")
    def queue_command(
        request: Request,
        kiosk_id: str,
        staff: StaffDep,
        kind: Annotated[str, Form(max_length=40)],
        csrf: Annotated[str, Form(max_length=200)],
        config: Annotated[str, Form(max_length=16_000)] = "",
        confirmed: Annotated[str, Form(max_length=1)] = "",
    ) -> Response:
        """Queue a command from the kiosk page's form (disruptive ones after a confirmation)."""
        target = f"/fleet/kiosks/{kiosk_id}"
        if not access.csrf_ok(staff, csrf):
            return RedirectResponse(f"{target}?error=csrf", status_code=303)
        try:
            command = CommandKind(kind)
            args = {"config": tomllib.loads(config)} if command is CommandKind.push_config else {}
            body = CommandIn(kind=command, args=args)
        except (ValueError, tomllib.TOMLDecodeError):
            return RedirectResponse(f"{target}?error=bad_command", status_code=303)
        if command in PAGE_ACTIONS:  # asked on its own form, with what the page showed
            return RedirectResponse(f"{target}?error=bad_command", status_code=303)
        if command in DISRUPTIVE and confirmed != "1":
            service.kiosk(kiosk_id)  # 404 for an unknown kiosk before asking anything
            return render(
                request, "confirm.html", staff=staff, kiosk_id=kiosk_id, kind=command,
                label=COMMAND_LABELS[command], warning=DISRUPTIVE[command], csrf=csrf,
            )  # fmt: skip
        service.queue(kiosk_id, body, staff.name)
        return RedirectResponse(target, status_code=303)

    def stale_form(kiosk_id: str, staff: Staff, csrf: str) -> Response | None:
        """A kiosk page form that may not act: back to the page for a stale CSRF token, 404
        for an unknown kiosk; None when it may."""
        if not access.csrf_ok(staff, csrf):
            return RedirectResponse(f"/fleet/kiosks/{kiosk_id}?error=csrf", status_code=303)
        service.kiosk(kiosk_id)  # 404 for an unknown kiosk before anything else
        return None

    cancel_page.add_routes(router, service, access, render, stale_form, COMMAND_LABELS)

    @router.post("/kiosks/{kiosk_id}/leases/release")
    def release_leases(
        request: Request,
        kiosk_id: str,
        staff: StaffDep,
        csrf: Annotated[str, Form(max_length=200)],
        confirmed: Annotated[str, Form(max_length=1)] = "",
    ) -> Response:
        """Give a silent kiosk's places in doubt back to the pool, after a confirmation."""
        target = f"/fleet/kiosks/{kiosk_id}"
        stale = stale_form(kiosk_id, staff, csrf)
        if stale is not None:
            return stale
        if confirmed != "1":
            with service.db.transaction() as session:
                doubtful = lease_reports.doubtful(session, kiosk_id, lease_now())
            return render(
                request, "release_leases.html", staff=staff, kiosk_id=kiosk_id, csrf=csrf,
                doubtful=doubtful, in_doubt=sum(x.places - x.used for x in doubtful),
            )  # fmt: skip
        with service.db.transaction() as session:
            places = lease_reports.release(session, kiosk_id, lease_now(), staff.name)
        return RedirectResponse(f"{target}?released={places}", status_code=303)

    @router.post("/kiosks/{kiosk_id}/signing-keys/{key_id}/{decision}")
    def decide_signing_key(
        request: Request,
        kiosk_id: str,
        key_id: int,
        decision: str,
        staff: StaffDep,
        csrf: Annotated[str, Form(max_length=200)],
        confirmed: Annotated[str, Form(max_length=1)] = "",
    ) -> Response:
        """Approve or reject a seal key the kiosk submitted without proof, after a
        confirmation; audited with the technician's name."""
        target = f"/fleet/kiosks/{kiosk_id}"
        stale = stale_form(kiosk_id, staff, csrf)
        if stale is not None:
            return stale
        if decision not in ("approve", "reject"):
            return RedirectResponse(f"{target}?error=bad_command", status_code=303)
        with service.db.transaction() as session:
            pending = {k.id: k for k in seals.key_history(session, kiosk_id, seals.PENDING)}
            if key_id not in pending:
                return RedirectResponse(f"{target}?error=key_decided", status_code=303)
            if confirmed != "1":
                return render(
                    request, "signing_key_confirm.html", staff=staff, kiosk_id=kiosk_id,
                    key=pending[key_id], decision=decision, csrf=csrf,
                )  # fmt: skip
            key_change.decide(
                session, kiosk_id, key_id, decision == "approve", staff.name, service.clock()
            )
        # The kiosk learns the decision with its next heartbeat: a rejected key is replaced at
        # once (kiosk_app.services.seal_key), an approved one shown in force.
        service.queue(kiosk_id, CommandIn(kind=CommandKind.check_seal_key), staff.name)
        done = "approved" if decision == "approve" else "rejected"
        return RedirectResponse(f"{target}?key={done}", status_code=303)

    @router.post("/kiosks/{kiosk_id}/copy-reports/clear")
    def clear_copy_reports(
        request: Request,
        kiosk_id: str,
        staff: StaffDep,
        csrf: Annotated[str, Form(max_length=200)],
        through: Annotated[str, Form(max_length=20)] = "",
        confirmed: Annotated[str, Form(max_length=1)] = "",
    ) -> Response:
        """The technician has read the refused receipt-copy reports: after a confirmation, the
        kiosk is told to set aside those up to the newest the page showed (`through`; one
        refused later keeps the alert), and the alert clears with its next heartbeat."""
        target = f"/fleet/kiosks/{kiosk_id}"
        stale = stale_form(kiosk_id, staff, csrf)
        if stale is not None:
            return stale
        last = _count(through)
        refused = _refused_copies(service.kiosk(kiosk_id).devices)
        if refused is None or (last is None and through):
            return RedirectResponse(f"{target}?error=no_refused", status_code=303)
        newest = _count(refused[1])
        if newest is not None and (last is None or last > newest):
            # none, or past the newest the kiosk named (a forged or mistyped form): it would
            # set aside reports refused after the page was read, which nobody saw
            return RedirectResponse(f"{target}?error=copies_unseen", status_code=303)
        if confirmed != "1":
            return render(
                request, "clear_copy_reports.html", staff=staff, kiosk_id=kiosk_id, csrf=csrf,
                refused=refused[0], through=through,
            )  # fmt: skip
        args = {} if last is None else {"through": last}
        if not any(  # the same clear not taken by the kiosk yet: a double click, a replay
            c.kind is CommandKind.clear_copy_reports and c.status in UNFINISHED and c.args == args
            for c in service.commands(kiosk_id, limit=20)
        ):
            body = CommandIn(kind=CommandKind.clear_copy_reports, args=args)
            service.queue(kiosk_id, body, staff.name)
        return RedirectResponse(f"{target}?copies=cleared", status_code=303)

    @router.get("/commands/{command_id}/attachment")
    def attachment(command_id: CommandId, _staff: StaffDep) -> Response:
        """Download what a command produced (logs, blurred screenshot)."""
        data, content_type = service.attachment(command_id)
        extension = {"application/gzip": ".tar.gz", "image/png": ".png"}.get(content_type, "")
        return download(data, content_type, f"command-{command_id}{extension}")

    return router


def _count(text: str | None) -> int | None:
    """A count the page's own redirect put in the query (None for anything else)."""
    return (
        int(text)
        if text is not None and text.isascii() and text.isdigit() and len(text) < 10
        else None
    )


def _refused_copies(devices: dict[str, dict[str, str]]) -> tuple[int, str] | None:
    """The kiosk's last heartbeat's refused receipt-copy reports (kiosk_app.services.printing.
    copy_outcomes status()): how many, and the newest one's row ("" from a kiosk that does not
    name it); None when it reports none."""
    reports = devices.get("copy_reports") or {}
    refused = _count(reports.get("refused"))
    if not refused:
        return None
    through = reports.get("refused_through") or ""
    return refused, through if _count(through) is not None else ""


def redirect_to_login(_request: Request, _exc: Exception) -> Response:
    """Exception handler for LoginRequired."""
    return RedirectResponse(LOGIN_PATH, status_code=303)


def install_handlers(app: FastAPI, handler: Callable[..., Response] = redirect_to_login) -> None:
    """Register the login redirect on the FastAPI app."""
    app.add_exception_handler(LoginRequired, handler)
