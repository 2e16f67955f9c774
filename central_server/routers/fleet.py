"""Fleet health: kiosk heartbeats and commands, the technicians' dashboard, alert history and
the enrolment page."""

from fastapi import APIRouter

from central_server.fleet import Fleet, alert_history, enrolment
from central_server.fleet.api import build_api
from central_server.fleet.dashboard import TEMPLATES, build_dashboard
from central_server.kiosk_auth import KioskAuth


def router(fleet: Fleet, kiosk_auth: KioskAuth) -> APIRouter:
    """The fleet API, the dashboard, the alert history and the enrolment page."""
    r = APIRouter()
    r.include_router(
        build_api(
            fleet.service,
            fleet.writer,
            fleet.current_kiosk,
            fleet.kiosk_claims,
            fleet.access.api,
            fleet.heartbeat_interval_s,
        )
    )
    r.include_router(build_dashboard(fleet.service, fleet.access, fleet.lease_clock))
    history = alert_history.AlertHistory(fleet.service.db, fleet.service.clock)
    r.include_router(alert_history.build_router(history, fleet.access, TEMPLATES))
    r.include_router(
        enrolment.build_router(kiosk_auth, fleet.access, TEMPLATES, fleet.service.offices)
    )
    return r
