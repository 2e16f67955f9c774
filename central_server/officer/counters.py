"""Officer pages for the counters (loket): open a counter with its services, call the next
citizen, recall, set aside a no-show, restore, transfer, finish; today's waiting times."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from central_server.auth import StaffUser
from central_server.lifecycle import TransitionRefused
from central_server.notify.outbox import enqueue_for_transition
from central_server.officer.common import PageContext, field_value, offices_for, redirect
from central_server.queue import checkin, core, display
from central_server.queue import counters as calling
from kiosk_app.domain.catalogue import SERVICES

COUNTER_ACTIONS = ("next", "recall", "no_show", "transfer", "finish", "close")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise TransitionRefused("bad_input", "a counter number is required", 422) from None


def router(ctx: PageContext) -> APIRouter:
    """Routes under /officer/counters (each step wakes the displays: queue.core.record)."""
    r = APIRouter(prefix="/officer/counters", include_in_schema=False)
    Officer = Annotated[StaffUser, Depends(ctx.auth.require("officer", "admin"))]

    def office_of(session: Session, user: StaffUser, wanted: str) -> tuple[str, list[Any]]:
        offices = offices_for(session, user)
        codes = [o.code for o in offices]
        if wanted in codes:
            return wanted, offices
        if user.office_code in codes:
            return str(user.office_code), offices
        if not codes:
            raise TransitionRefused("not_found", "no office", 404)
        return codes[0], offices

    @r.get("", response_class=HTMLResponse)
    def counters(request: Request, user: Officer, office: str = "") -> Response:
        """Today's counters, the waiting line, the no-shows and the waiting times."""
        today = ctx.today()
        with ctx.db.transaction() as session:
            office, offices = office_of(session, user, office)
            open_counters = [
                {"counter": c, "serving": current}
                for c, current in calling.serving_at_open_counters(session, office)
            ]
            context: dict[str, Any] = {
                "offices": offices,
                "office": office,
                "today": today,
                "counters": open_counters,
                "waiting": display.waiting_rows(session, office, today),
                "no_shows": display.waiting_rows(session, office, today, core.NO_SHOW),
                "stats": display.today_stats(session, office, today),
                "services": {k: s.title("id") for k, s in SERVICES.items()},
                "reasons": core.PRIORITY_REASONS,
                "no_show_after": calling.NO_SHOW_AFTER_CALLS,
            }
        return ctx.render(request, "counters.html", user, **context)

    @r.post("/open")
    async def open_counter(request: Request, user: Officer) -> Response:
        """Open (or re-open) a counter with the services it handles."""
        form = await ctx.form(request, user)
        with ctx.db.transaction() as session:
            office, _ = office_of(session, user, field_value(form, "office"))
            number = _int(field_value(form, "number"))
            services = [s for s in form.getlist("service") if isinstance(s, str)]
            calling.open_counter(session, office, number, services, user.username, ctx.today())
        return redirect(f"/officer/counters?office={office}&ok=open")

    @r.post("/{number}/{action}")
    async def act(request: Request, user: Officer, number: int, action: str) -> Response:
        """One counter action: next, recall, no_show, transfer, finish, close."""
        if action not in COUNTER_ACTIONS:
            raise TransitionRefused("not_found", f"unknown action {action}", 404)
        form = await ctx.form(request, user)
        today = ctx.today()
        ok = action
        with ctx.db.transaction() as session:
            office, _ = office_of(session, user, field_value(form, "office"))
            counter = calling.get_counter(session, office, number)
            if action == "next":
                called = calling.call_next(session, counter, user.username, today)
                ok = "next" if called is not None else "empty"
            elif action == "recall":
                calling.recall(session, counter, user.username, today)
            elif action == "no_show":
                calling.no_show(session, counter, user.username, today)
            elif action == "transfer":
                target = _int(field_value(form, "target"))
                calling.transfer(session, counter, target, user.username, today)
            elif action == "finish":
                calling.finish(
                    session, counter, user.username, today, notify=enqueue_for_transition
                )
            else:
                calling.close_counter(session, counter, user.username, today)
        return redirect(f"/officer/counters?office={office}&ok={ok}")

    @r.post("/restore")
    async def restore(request: Request, user: Officer) -> Response:
        """A set-aside citizen came after all: back into the queue at their arrival place."""
        form = await ctx.form(request, user)
        with ctx.db.transaction() as session:
            office, _ = office_of(session, user, field_value(form, "office"))
            calling.restore(
                session, office, field_value(form, "calling_number"), user.username, ctx.today()
            )
        return redirect(f"/officer/counters?office={office}&ok=restore")

    @r.post("/priority")
    async def priority(request: Request, user: Officer) -> Response:
        """Grant the priority lane (lansia, disabilitas, ibu hamil) to a waiting citizen."""
        form = await ctx.form(request, user)
        today = ctx.today()
        with ctx.db.transaction() as session:
            office, _ = office_of(session, user, field_value(form, "office"))
            app = checkin.find_application(
                session,
                office,
                checkin.Lookup(registration_number=field_value(form, "registration_number")),
                today,
            )
            if app.office_code != office:
                raise TransitionRefused("not_found", "unknown registration number", 404)
            checkin.grant_priority(session, app, field_value(form, "reason"), user.username, today)
        return redirect(f"/officer/counters?office={office}&ok=priority")

    return r
