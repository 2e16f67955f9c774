"""The reference central server's composition root: services built once, one router per area."""

import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from central_server.addresses import relative_slash_redirects
from central_server.auth import Auth
from central_server.config import LimitSettings
from central_server.db import Database
from central_server.faults import answer_then_log, server_error
from central_server.fleet import Fleet, StaffAccess
from central_server.fleet.fastpath import HEARTBEAT_PATH
from central_server.kiosk_auth import KioskAuth, kiosk_claims_guard, kiosk_guard
from central_server.lease_reports import LeaseSweep
from central_server.leases import LeasePolicy, Leases
from central_server.notify import Channel, OutboxWorker
from central_server.officer import Review
from central_server.officer.common import PageContext, add_exception_handlers
from central_server.openapi import install as document_responses
from central_server.queue.hub import DisplayHub
from central_server.ratelimit import StatusLookupLimiter
from central_server.route_build import BUILDING, build_routes
from central_server.routers import fleet as fleet_routes
from central_server.routers import kiosk, officer, public
from central_server.routers import queue as queue_routes
from central_server.security import SecurityMiddleware, SecurityOptions
from central_server.security import install as install_security
from central_server.server_seal import ServerSealer
from central_server.settings import DEFAULT_DATABASE_URL, DEFAULT_OFFICES, WIB, today_wib
from central_server.status import StatusLookup
from central_server.throttle import DatabaseRateLimiter

STATIC_DIR = Path(__file__).resolve().parent / "static"


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
    background_loops: bool = True,
    secure_cookies: bool = False,
    security: SecurityOptions | None = None,
    limits: LimitSettings | None = None,
    admin_addresses: Sequence[str] | None = None,
    public_url: str | None = None,
    clock: Callable[[], datetime] | None = None,
    lease_policy: LeasePolicy | None = None,
    seal_secret: str | None = None,
) -> FastAPI:
    """Build the app on `database_url`; `today` fixes the calendar (tests), default WIB today.

    `clock` (aware datetimes) times slot leases and the check-in windows of the verification
    day; by default the time of day now on `today`'s date, so a fixed calendar gets a matching
    clock. `lease_policy`: how long leases last.

    Kiosks enrol with a one-time code from a technician; `open_enrolment` (default: on only
    without an admin token, i.e. a development server) lets any kiosk enrol without one.
    `background_loops=False`: no notification delivery and no lease sweep here (production
    runs them once per deployment: `anjungan central --worker`, runtime.run_worker).
    `limits` are the [limits] table (body sizes, rate limits, lockout); `admin_addresses` who is
    told of a staff lockout (default: ANJUNGAN_ADMIN_NOTIFY); `public_url` where citizens reach
    the server, for verification QR codes and kiosk enrolment (default: ANJUNGAN_PUBLIC_URL,
    else the address of the socket a request came in on: central_server.addresses).
    `seal_secret`: the server's receipt-seal key (default: keys.SEAL_SIGNING_KEY's sources).
    """
    limits = limits or LimitSettings()
    db = Database(database_url)
    db.create_all(DEFAULT_OFFICES + tuple(offices))
    today_fn = today or today_wib
    if clock is None:  # the real clock, or a fixed calendar's date at the time of day now
        clock = (lambda: datetime.now(UTC)) if today is None else (lambda: on_day(today_fn()))
    clock_fn = clock
    admin_secret = (
        admin_token if admin_token is not None else os.environ.get("ANJUNGAN_ADMIN_TOKEN")
    )
    if open_enrolment is None:
        flag = os.environ.get("ANJUNGAN_OPEN_ENROLMENT")
        open_enrolment = flag == "1" if flag is not None else not admin_secret
    kiosk_auth = KioskAuth(db, secret=token_secret, open_enrolment=open_enrolment, clock=clock_fn)
    current_kiosk = kiosk_guard(kiosk_auth)  # kiosk tokens only; staff credentials get 401
    auth = Auth(db, secret_key, secure_cookie=secure_cookies)
    sealer = ServerSealer(db.url, seal_secret, clock_fn)  # applications moved to another slot
    pages = PageContext(
        db=db,
        auth=auth,
        today=today_fn,
        limits=limits,
        admin_addresses=admin_addresses,
        clock=clock_fn,
        sealer=sealer,
    )
    status_limiter = status_limiter or StatusLookupLimiter(
        buckets=DatabaseRateLimiter(  # shared by every app server
            db, per_minute=limits.status_lookups_per_minute, burst=limits.status_lookup_burst
        )
    )
    review = Review(auth, OutboxWorker(db, channels or {}), status_limiter)
    lease_book = Leases(db, today_fn, clock_fn, lease_policy)
    lease_sweep = LeaseSweep(db, clock_fn)  # expired leases written down with no kiosk calling
    status_lookup = StatusLookup(db)
    staff_access = StaffAccess(admin_secret, kiosk_auth.signing_key, auth)
    fleet = Fleet(
        db,
        current_kiosk,
        kiosk_claims_guard(kiosk_auth),
        staff_access,
        fast_claims=kiosk_auth.async_claims,
        lease_clock=clock_fn,
    )

    displays = DisplayHub(db, today_fn)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background_loops:
            review.start()
            lease_sweep.start()
        yield
        await displays.aclose()
        lease_sweep.stop()
        review.stop()
        await fleet.aclose()
        await status_lookup.aclose()
        db.dispose()

    with BUILDING:  # FastAPI builds routes under catch_warnings (route_build)
        app = CentralApp(
            title="Anjungan central server", version="1.0", lifespan=lifespan, docs_url=None
        )
        app.state.db = db
        app.state.fleet = fleet  # its service's clock: what the dashboard takes for now (tests)
        app.state.public_url = public_url
        # nginx serves the same folder at /static/ in production (provisioning/central.py)
        app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
        app.state.review = review
        app.state.lease_sweep = lease_sweep
        app.state.displays = displays
        app.add_exception_handler(Exception, server_error)  # a short 500, never the traceback
        add_exception_handlers(app, pages)  # officer pages and the API's refused transitions
        app.include_router(officer.router(pages, admin_secret))
        app.include_router(public.router(db, sealer))
        app.include_router(queue_routes.router(db, displays, current_kiosk, clock_fn, pages))
        app.include_router(fleet_routes.router(fleet, kiosk_auth))
        fleet.install_handlers(app)  # the dashboard's login redirect
        app.include_router(
            kiosk.router(
                db,
                kiosk_auth=kiosk_auth,
                current_kiosk=current_kiosk,
                require_technician=staff_access.api,
                today=today_fn,
                status_lookup=status_lookup,
                status_limiter=review.status_limiter,
                limits=limits,
                clock=clock_fn,
                lease_book=lease_book,
                sealer=sealer,
            )
        )
        relative_slash_redirects(app)  # Location: /fleet/, never built from the Host header
        document_responses(app)  # the OpenAPI document as the server really answers
        options = security or SecurityOptions.from_environment(limits)
        install_security(app, options)  # last: outermost
        fast = fleet.heartbeat_path(app.stack)
        if fast is not None:  # heartbeats are most traffic: skip the router and FastAPI's stack
            app.heartbeats = SecurityMiddleware(fast, options)
        build_routes(app)  # last: every route built before the app serves
    return app


class CentralApp(FastAPI):
    """FastAPI with POST /api/v1/fleet/heartbeat answered in front of its middleware stack.

    The fast path (central_server/fleet/fastpath.py) answers every heartbeat itself, errors
    included, behind the same security middleware (headers, body limit) as every other route;
    FastAPI's own outer layers (error page, telemetry check, body-limit wrapper) cost ~8% of a
    worker's CPU per heartbeat under load and did nothing for it.
    """

    heartbeats: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A heartbeat to the fast path; everything else through FastAPI."""
        if (
            self.heartbeats is not None
            and scope["type"] == "http"
            and scope["path"] == HEARTBEAT_PATH
            and scope["method"] == "POST"
        ):
            await self.heartbeats(scope, receive, send)
        else:
            await self.stack(scope, receive, send)

    async def stack(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's whole stack (what the fast path passes everything else to); a fault after
        its 500 went out is logged here, the connection kept (central_server.faults)."""
        if scope["type"] == "http":
            await answer_then_log(super().__call__, scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def on_day(day: date) -> datetime:
    """Now's time of day (WIB) on `day`, in UTC: the default lease clock of a fixed calendar."""
    now = datetime.now(WIB)
    return datetime.combine(day, now.timetz()).astimezone(UTC)
