"""Fleet health: kiosk heartbeats, alerts, remote commands and the technicians' dashboard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from fastapi import FastAPI
from starlette.types import ASGIApp

from central_server.db import Database
from central_server.fleet.access import Staff, StaffAccess
from central_server.fleet.dashboard import install_handlers
from central_server.fleet.fastpath import HeartbeatFastPath
from central_server.fleet.heartbeats import SAMPLE_EVERY, HeartbeatWriter
from central_server.fleet.service import FleetService
from central_server.kiosk_auth import ClaimsGuard, KioskGuard

HEARTBEAT_INTERVAL_S = 60

__all__ = ["Fleet", "Staff", "StaffAccess"]


class Fleet:
    """The fleet's services (central_server.routers.fleet serves them); `aclose()` on shutdown."""

    def __init__(
        self,
        db: Database,
        current_kiosk: KioskGuard,
        kiosk_claims: ClaimsGuard,
        access: StaffAccess,
        *,
        heartbeat_interval_s: int = HEARTBEAT_INTERVAL_S,
        sample_every: timedelta = SAMPLE_EVERY,
        fast_claims: Callable[[str], Awaitable[tuple[str, str]]] | None = None,
        lease_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.service = FleetService(db)
        self.writer = HeartbeatWriter(db, sample_every=sample_every, lease_clock=lease_clock)
        self.access = access
        self.current_kiosk = current_kiosk
        self.kiosk_claims = kiosk_claims
        self.heartbeat_interval_s = heartbeat_interval_s
        self.fast_claims = fast_claims
        self.lease_clock = lease_clock  # the clock slot leases expire by (the dashboard)

    def heartbeat_path(self, app: ASGIApp) -> ASGIApp | None:
        """The heartbeat fast path in front of `app` (None without `fast_claims`)."""
        if self.fast_claims is None:
            return None
        return HeartbeatFastPath(
            app, claims=self.fast_claims, writer=self.writer, interval_s=self.heartbeat_interval_s
        )

    @staticmethod
    def install_handlers(app: FastAPI) -> None:
        """The dashboard's login redirect."""
        install_handlers(app)

    async def aclose(self) -> None:
        """Stop the heartbeat writer."""
        await self.writer.aclose()
