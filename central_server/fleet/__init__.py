"""Fleet health: kiosk heartbeats, alerts, remote commands and the technicians' dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI

from central_server.db import Database
from central_server.fleet import alert_history, enrolment
from central_server.fleet.access import Staff, StaffAccess
from central_server.fleet.api import build_api
from central_server.fleet.dashboard import TEMPLATES, build_dashboard, install_handlers
from central_server.fleet.fastpath import HeartbeatFastPath
from central_server.fleet.heartbeats import SAMPLE_EVERY, HeartbeatWriter
from central_server.fleet.service import FleetService
from central_server.kiosk_auth import KioskAuth, KioskRef

HEARTBEAT_INTERVAL_S = 60

__all__ = ["Fleet", "Staff", "StaffAccess"]


class Fleet:
    """Wires the fleet's API and dashboard into an app; `aclose()` on shutdown."""

    def __init__(
        self,
        db: Database,
        current_kiosk: Callable[..., KioskRef],
        kiosk_claims: Callable[..., tuple[str, str]],
        access: StaffAccess,
        *,
        heartbeat_interval_s: int = HEARTBEAT_INTERVAL_S,
        sample_every: timedelta = SAMPLE_EVERY,
        fast_claims: Callable[[str], Awaitable[tuple[str, str]]] | None = None,
    ) -> None:
        self.service = FleetService(db)
        self.writer = HeartbeatWriter(db, sample_every=sample_every)
        self.access = access
        self.current_kiosk = current_kiosk
        self.kiosk_claims = kiosk_claims
        self.heartbeat_interval_s = heartbeat_interval_s
        self.fast_claims = fast_claims

    def install(self, app: FastAPI, kiosk_auth: KioskAuth | None = None) -> None:
        """Include the API and dashboard routers, the login redirect (and the enrolment page)."""
        app.include_router(
            build_api(
                self.service,
                self.writer,
                self.current_kiosk,
                self.kiosk_claims,
                self.access.api,
                self.heartbeat_interval_s,
            )
        )
        app.include_router(build_dashboard(self.service, self.access))
        history = alert_history.AlertHistory(self.service.db, self.service.clock)
        app.include_router(alert_history.build_router(history, self.access, TEMPLATES))
        if kiosk_auth is not None:
            app.include_router(enrolment.build_router(
                kiosk_auth, self.access, TEMPLATES, self.service.offices))
        if self.fast_claims is not None:  # heartbeats are most traffic: skip the router
            app.add_middleware(
                HeartbeatFastPath,
                claims=self.fast_claims,
                writer=self.writer,
                interval_s=self.heartbeat_interval_s,
            )
        install_handlers(app)

    async def aclose(self) -> None:
        """Stop the heartbeat writer."""
        await self.writer.aclose()
