"""Officer pages for applications: list by office and state, detail with scans, actions."""

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from central_server import content, hold_notice, issued, lifecycle, quota, seals
from central_server.addresses import public_base
from central_server.auth import StaffUser
from central_server.downloads import download
from central_server.hold_notice import Decision
from central_server.lifecycle import State, TransitionRefused
from central_server.models import Application, Office
from central_server.notify.outbox import enqueue_for_transition
from central_server.officer.common import (
    PageContext,
    field_value,
    load_application,
    offices_for,
    redirect,
)
from central_server.queue import core as queue
from central_server.queue import counters as calling
from central_server.review_models import ApplicationScan, Arrival
from central_server.server_seal import ServerSealer
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import mask_nik

PAGE_SIZE = 50
SHOWN_CHARS = 200  # of a value outside the form, before "selengkapnya"


@dataclass(frozen=True)
class Moves:
    """How an action tells the citizen, and who seals an application moved to another slot."""

    tell: lifecycle.Notify
    sealer: ServerSealer | None = None
    verify_base: str = ""  # where citizens reach the server (a new seal's link)


CONTACT_LABELS = {
    "contact_phone": "Nomor HP",
    "contact_email": "Email",
    "contact_channel": "Cara menerima kabar permohonan",
    "delivery": "Pengambilan dokumen",
    "delivery_address": "Alamat pengiriman",
}


def field_labels(service: str) -> dict[str, str]:
    """Form field name -> Indonesian label, from the kiosk's form definition."""
    info = SERVICES.get(service)
    if info is None or info.form is None:
        return dict(CONTACT_LABELS)
    return CONTACT_LABELS | {f.name: f.label("id") for page in info.form.pages for f in page.fields}


def router(ctx: PageContext) -> APIRouter:
    """Routes under /officer/applications."""
    r = APIRouter(prefix="/officer", include_in_schema=False)
    Officer = Annotated[StaffUser, Depends(ctx.auth.require("officer", "admin"))]

    @r.get("/applications", response_class=HTMLResponse)
    def applications(
        request: Request, user: Officer, office: str = "", state: str = "", page: int = 1
    ) -> Response:
        """Applications of an office, filtered by state, newest first."""
        with ctx.db.transaction() as session:
            offices = offices_for(session, user)
            codes = [o.code for o in offices]
            office = office if office in codes else (user.office_code or codes[0])
            where = [Application.office_code == office]
            if state in State.__members__:
                where.append(Application.status == state)
            counts = dict(
                session.execute(
                    select(Application.status, func.count())
                    .where(Application.office_code == office)
                    .group_by(Application.status)
                ).all()
            )
            page = max(1, page)
            rows = list(
                session.scalars(
                    select(Application)
                    .where(*where)
                    .order_by(Application.id.desc())
                    .limit(PAGE_SIZE)
                    .offset((page - 1) * PAGE_SIZE)
                )
            )
        return ctx.render(
            request,
            "applications.html",
            user,
            offices=offices,
            office=office,
            state=state,
            counts=counts,
            rows=rows,
            page=page,
            more=len(rows) == PAGE_SIZE,
            states=[s.value for s in State],
            titles={k: s.title("id") for k, s in SERVICES.items()},
        )

    @r.get("/seal", response_class=HTMLResponse)
    def seal(request: Request, user: Officer, seal: str = "") -> Response:
        """Check a ticket's or receipt's seal, scanned or pasted (also before its application
        has arrived from a kiosk that booked it offline)."""
        typed = seal.strip()[: seals.MAX_TYPED]
        context: dict[str, Any] = {"typed": typed}
        with ctx.db.transaction() as session:
            context["offices"] = [o.code for o in offices_for(session, user)]
            if typed:
                context |= seals.describe(session, typed, ctx.sealer)
        return ctx.render(request, "seal.html", user, **context)

    @r.get("/applications/{registration_number}", response_class=HTMLResponse)
    def detail(request: Request, user: Officer, registration_number: str) -> Response:
        """One application: form values, scans, history, notes and the actions its state allows."""
        today = ctx.today()
        with ctx.db.transaction() as session:
            app = load_application(session, user, registration_number)
            office = session.get_one(Office, app.office_code)
            scans = session.execute(
                select(ApplicationScan.name, ApplicationScan.content_type)
                .where(ApplicationScan.application_id == app.id)
                .order_by(ApplicationScan.name)
            ).all()
            document = issued.document_for(session, app)
            data = lifecycle.data_of(app)
            outside = content.outside_form(app.service, data)
            context: dict[str, Any] = {
                "app": app,
                "office": office,
                "data": {k: v for k, v in data.items() if k not in outside},
                # stored as sent, shown apart and cut (the whole value behind a <details>)
                "outside": {k: data[k] for k in outside},
                "shown_chars": SHOWN_CHARS,
                "labels": field_labels(app.service),
                "title": issued.document_title(app.service),
                "masked_nik": mask_nik(app.applicant_nik),
                "scans": scans,
                "events": lifecycle.history(session, app),
                "notes": lifecycle.open_fix_notes(session, app),
                "arrival": session.get(Arrival, app.id),
                "document": document,
                "holder": issued.default_holder(app),
                "wants_delivery": lifecycle.wants_delivery(app),
                "allowed": {
                    a for a, (src, _) in lifecycle.TRANSITIONS.items() if app.status in src
                },
                "slots": _slot_choices(session, app, today, ctx.clock()),
                "today": today,
                "seal": seals.find(session, app.seal, ctx.sealer) if app.seal else None,
                "server_seal": (
                    seals.find(session, app.server_seal, ctx.sealer) if app.server_seal else None
                ),
            }
        return ctx.render(request, "detail.html", user, **context)

    @r.get("/applications/{registration_number}/scans/{name}")
    def scan(user: Officer, registration_number: str, name: str) -> Response:
        """The scanned document as uploaded (never cached by shared caches)."""
        with ctx.db.transaction() as session:
            app = load_application(session, user, registration_number)
            row = session.scalar(
                select(ApplicationScan).where(
                    ApplicationScan.application_id == app.id, ApplicationScan.name == name
                )
            )
            if row is None:
                raise TransitionRefused("not_found", "no such scan", 404)
            extension = {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}
            filename = f"{registration_number}-{name}{extension.get(row.content_type, '')}"
            return download(row.content, row.content_type, filename)

    @r.get("/applications/{registration_number}/document.pdf")
    def document_pdf(request: Request, user: Officer, registration_number: str) -> Response:
        """The issued document as PDF with its verification QR."""
        with ctx.db.transaction() as session:
            app = load_application(session, user, registration_number)
            document = issued.document_for(session, app)
            if document is None:
                raise TransitionRefused("not_found", "no document issued yet", 404)
            office = session.get_one(Office, app.office_code)
            base = public_base(request)
            pdf = issued.render_pdf(document, office.name, issued.verify_url(base, document))
        filename = f"{document.document_number}.pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'inline; filename="{filename}"',
                "Cache-Control": "private, no-store",
            },
        )

    @r.post("/applications/{registration_number}/{action}")
    async def act(
        request: Request, user: Officer, registration_number: str, action: str
    ) -> Response:
        """Apply an officer action, then show the application again (post/redirect/get)."""
        form = await ctx.form(request, user)
        with ctx.db.transaction() as session:
            # Locked: two officers (or app servers) deciding at once decide one after the
            # other, the second seeing the first's outcome (a hold released once, told once).
            # The citizen's place in the counters' queue first, then the application: the
            # counters' order (queue.counters' docstring), so a counter finishing, recalling
            # or setting aside the same citizen waits for this decision or it for them.
            calling.lock_place(session, registration_number)
            app = load_application(session, user, registration_number, lock=True)
            base = public_base(request)
            tell = partial(enqueue_for_transition, verify_base=base)
            moves = Moves(tell, ctx.sealer, base)
            _apply(session, app, action, user.username, form, ctx.today(), ctx.clock(), moves)
            # Verified or rejected here (or moved on from verified): a checked-in citizen
            # leaves the waiting line and any counter calling them, nobody calls them again.
            label = lifecycle.STATE_LABELS.get(app.status, app.status)
            calling.end_place(
                session, app, user.username, f"{action} di halaman permohonan: {label}"
            )
        return redirect(f"/officer/applications/{registration_number}?ok={action}")

    return r


def _apply(
    session: Any,
    app: Application,
    action: str,
    actor: str,
    form: Any,
    today: date,
    now: datetime,
    moves: Moves | None = None,
) -> None:
    """Dispatch one action with its form fields; the citizen is told through the outbox
    (`moves`: how, and who seals an application moved to another slot)."""
    moves = moves or Moves(enqueue_for_transition)
    tell = moves.tell
    reseal = moves.sealer.seal if moves.sealer is not None else None
    if action == "approve":
        day, window = _slot_field(form)
        lifecycle.approve(
            session, app, actor, day, window, today, notify=tell, now=now, reseal=reseal
        )
    elif action == "ask_fix":
        targets = form.getlist("target")
        notes = form.getlist("note")
        lifecycle.ask_fix(session, app, actor, list(zip(targets, notes, strict=False)), notify=tell)
    elif action == "reject":
        held = bool(app.hold_reason)  # the hold's end: told as such (hold_notice), once
        event = lifecycle.reject(
            session, app, actor, field_value(form, "reason"), notify=None if held else tell
        )
        if held:
            hold_notice.tell(session, app, Decision.rejected, reason=event.note)
    elif action == "resubmit":
        lifecycle.resubmit(session, app, actor, notify=tell)
    elif action == "arrive":  # marked by an officer: into the counters' queue like a check-in
        lifecycle.check_in(session, app, actor, today)
        queue.record(session, app.office_code, today, "checkin", app.queue_number, actor, app.id)
    elif action == "release":  # as booked, or onto the slot picked ("" keeps it)
        was = (app.slot_date, app.slot_window)
        to = _slot_field(form) if field_value(form, "slot") else None
        lifecycle.release_hold(session, app, actor, to, today=today, now=now, reseal=reseal)
        moved = (app.slot_date, app.slot_window) != was
        hold_notice.tell(
            session,
            app,
            Decision.moved if moved else Decision.admitted,
            moved_from=was if moved else None,
            verify_base=moves.verify_base,
        )
    elif action == "issue":
        issued.issue_document(
            session,
            app,
            actor,
            field_value(form, "holder_name"),
            field_value(form, "holder_nik"),
            today,
            notify=tell,
        )
    elif action == "deliver":
        tracking = field_value(form, "tracking").strip()[:60]
        if not tracking:
            raise TransitionRefused("bad_input", "the Pos tracking number is required", 422)
        lifecycle.transition(session, app, "deliver", actor, tracking, notify=tell)
        document = issued.document_for(session, app)
        if document is not None:
            document.delivery_tracking = tracking
    elif action == "revoke":
        document = issued.document_for(session, app)
        if document is None:
            raise TransitionRefused("not_found", "no document issued yet", 404)
        issued.revoke(session, document, field_value(form, "reason"))
    elif action in lifecycle.TRANSITIONS:  # review, verify, collect: no form fields
        lifecycle.transition(
            session, app, action, actor, field_value(form, "note")[:500], notify=tell
        )
    else:
        raise TransitionRefused("not_found", f"unknown action {action}", 404)


def _slot_field(form: Any) -> tuple[date, str]:
    """The verification slot a form picked ("<date>|<window>")."""
    day_text, _, window = field_value(form, "slot").partition("|")
    try:
        return date.fromisoformat(day_text), window
    except ValueError:
        raise TransitionRefused("bad_input", "pick a verification slot", 422) from None


def _slot_choices(
    session: Any, app: Application, today: date, now: datetime
) -> list[dict[str, Any]]:
    """Verification slots an officer may approve with: the booked one plus open ones."""
    q = lifecycle.daily_quota(session, app.office_code, app.service)
    choices = []
    days = quota.verification_days(today, quota.MAX_DAYS_AHEAD)
    if app.slot_date not in days:
        days = [app.slot_date, *days]
    for day in days:
        for window in quota.windows_on(day) or (app.slot_window,):
            taken = lifecycle.places_taken(session, app, day, window, now)
            left = quota.window_capacity(q, window) - taken
            booked = (day, window) == (app.slot_date, app.slot_window)
            if left > 0 or booked:
                choices.append(
                    {
                        "value": f"{day.isoformat()}|{window}",
                        "day": day,
                        "window": window,
                        "left": left,
                        "booked": booked,
                    }
                )
    return choices
