"""Slot leases after their booking time, over HTTP on SQLite and PostgreSQL: kiosks report
their lease usage in heartbeats; at expiry only finally reported leases give places back, the
places of a silent kiosk stay in doubt (taken) until it reports, a technician releases them or
their day begins, and those of a lease whose grant never reached its kiosk are settled by its
next report after their booking time (a heartbeat names every lease the kiosk holds); a late
booking is honoured, and flagged over_quota when its released place was taken; the background
sweep (app server loops, and the worker) writes expiries down with no kiosk calling. The quota
invariant is checked by counting all along (lease_rig.over_quota).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select

from central_server import lease_reports
from central_server.auth import create_user
from central_server.config import CentralConfig, NotifySettings, ServerSettings
from central_server.models import Application, SlotLease
from central_server.runtime import run_worker
from tests.central.conftest import ADMIN_TOKEN, OFFICE, wait_for
from tests.central.fleet.helpers import STAFF, heartbeat_body
from tests.central.lease_rig import (
    AFTERNOON,
    MONDAY,
    MORNING,
    SERVICE,
    LeaseKiosk,
    LeaseServer,
    lease_server,
    online_booking,
    over_quota,
    seed_office,
)
from tests.central.officer.conftest import PASSWORD, Staff
from tests.services.faultproxy import FaultProxy


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        yield running


def remaining(kiosk: LeaseKiosk, day: date, window: str) -> int:
    """Places GET /api/v1/slots offers in one slot (0 when it is not listed)."""
    r = kiosk.call("GET", "/api/v1/slots", params={"service": SERVICE, "days": 5})
    assert r.status_code == 200, r.text
    found = [s["remaining"] for s in r.json() if (s["date"], s["window"]) == (str(day), window)]
    return found[0] if found else 0


def lease_rows(rig: LeaseServer, kiosk: LeaseKiosk | None = None) -> list[SlotLease]:
    with rig.app.state.db.transaction() as session:
        query = select(SlotLease).order_by(SlotLease.day, SlotLease.window)
        if kiosk is not None:
            query = query.where(SlotLease.kiosk_id == kiosk.kiosk_id)
        return list(session.scalars(query))


def applications(rig: LeaseServer) -> list[Application]:
    with rig.app.state.db.transaction() as session:
        return list(session.scalars(select(Application).order_by(Application.id)))


def on(leases: list[dict[str, Any]], day: date, window: str) -> dict[str, Any]:
    [lease] = [x for x in leases if (x["date"], x["window"]) == (str(day), window)]
    return lease


def usage(rig: LeaseServer, kiosk: LeaseKiosk, booked: dict[str, int] | None = None) -> None:
    """The kiosk's heartbeat: every lease it holds with the places it booked from it."""
    kiosk.report({x.id: (booked or {}).get(x.id, 0) for x in lease_rows(rig, kiosk)})


def test_a_kiosk_silent_across_book_until_and_expiry_has_its_late_booking_covered(
    rig: LeaseServer, database_url: str
) -> None:
    a, b = seed_office(rig.base_url, 2, {SERVICE: 4})  # 2 places a window
    mine = on(a.leases(days=4), MONDAY, MORNING)
    theirs = on(b.leases(days=4), MONDAY, MORNING)
    assert (mine["places"], theirs["places"]) == (1, 1)  # Monday morning all lent
    late = a.offline_booking(mine, rig.clock())  # booked offline, then the kiosk goes dark
    assert over_quota(database_url, rig.clock()) == {}
    # b keeps reporting across its booking time; a says nothing
    rig.clock.now = datetime.fromisoformat(theirs["book_until"]) + timedelta(minutes=1)
    usage(rig, b)
    rig.clock.now = datetime.fromisoformat(mine["expires_at"]) + timedelta(hours=1)
    usage(rig, b)
    assert over_quota(database_url, rig.clock()) == {}
    # b's place came back at expiry, a's is in doubt: one online booking fits, not two
    assert remaining(b, MONDAY, MORNING) == 1
    first = b.submit(online_booking(MONDAY, MORNING, nik="3517081208850002", data={}))
    assert first.status_code == 201, first.text
    full = b.submit(online_booking(MONDAY, MORNING, nik="3517081208850003", data={}))
    assert full.status_code == 409 and full.json()["detail"]["code"] == "slot_full"
    assert over_quota(database_url, rig.clock()) == {}
    # a reconnects: its booking lands on its place, nothing is over
    r = a.submit(late)
    assert r.status_code == 201, r.text
    assert r.json()["slot"] == {"date": str(MONDAY), "window": MORNING}
    assert not any(x.over_quota for x in applications(rig))
    assert over_quota(database_url, rig.clock()) == {}
    # then its final report frees what it did not use (its afternoon place)
    assert remaining(b, MONDAY, AFTERNOON) == 1  # b's came back, a's is in doubt
    usage(rig, a, {mine["lease_id"]: 1})
    assert remaining(b, MONDAY, AFTERNOON) == 2
    assert over_quota(database_url, rig.clock()) == {}
    booked = [x for x in applications(rig) if (x.slot_date, x.slot_window) == (MONDAY, MORNING)]
    assert len(booked) == 2  # the window's quota, to the place


def test_a_reported_lease_is_reclaimed_exactly_at_expiry(
    rig: LeaseServer, database_url: str
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})  # 1 place a window
    lease = on(kiosk.leases(days=4), MONDAY, MORNING)
    expires = datetime.fromisoformat(lease["expires_at"])
    rig.clock.now = datetime.fromisoformat(lease["book_until"]) + timedelta(seconds=1)
    usage(rig, kiosk)  # final: nothing booked from it
    rig.clock.now = expires - timedelta(seconds=1)
    assert remaining(kiosk, MONDAY, MORNING) == 0
    rig.clock.now = expires
    assert remaining(kiosk, MONDAY, MORNING) == 1
    assert over_quota(database_url, rig.clock()) == {}
    rig.app.state.lease_sweep.run_once()  # written down: back in the pool for good
    row = next(x for x in lease_rows(rig) if x.id == lease["lease_id"])
    assert (row.places, row.used, row.returned) == (0, 0, 1)
    assert row.reported_used == 0 and row.reported_at is not None


def test_a_technician_releases_places_in_doubt_and_a_late_booking_is_flagged_over_quota(
    rig: LeaseServer, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    officer = Staff(rig.base_url, "petugas")
    a, b = seed_office(rig.base_url, 2, {SERVICE: 2})  # 1 place a window
    lease = on(a.leases(days=4), MONDAY, MORNING)  # a got every window first
    late = a.offline_booking(lease, rig.clock())
    rig.clock.now = datetime.fromisoformat(lease["expires_at"]) + timedelta(hours=1)
    nik = "3517081208850002"
    r = b.submit(online_booking(MONDAY, MORNING, nik=nik, data={}))
    assert r.status_code == 409  # a's place is in doubt
    technician = requests.Session()
    r = technician.post(f"{rig.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert r.status_code == 200, r.text
    page = technician.get(f"{rig.base_url}/fleet/kiosks/{a.kiosk_id}", timeout=10).text
    assert 'id="lease-doubt" data-places="2"' in page  # both Monday windows
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    release = f"{rig.base_url}/fleet/kiosks/{a.kiosk_id}/leases/release"
    asked = technician.post(release, data={"csrf": csrf.group(1)}, timeout=10)
    assert asked.status_code == 200 and 'id="confirm-release"' in asked.text
    assert remaining(b, MONDAY, MORNING) == 0  # asked, not done yet
    with caplog.at_level(logging.WARNING, logger="central_server.audit"):
        done = technician.post(release, data={"csrf": csrf.group(1), "confirmed": "1"}, timeout=10)
    assert done.status_code == 200 and 'id="lease-released">Dilepas / released: 2' in done.text
    assert 'id="lease-doubt"' not in done.text
    audit = [m.getMessage() for m in caplog.records if m.name == "central_server.audit"]
    assert any("technician released 1 place(s) in doubt" in m for m in audit), audit
    assert remaining(b, MONDAY, MORNING) == 1
    assert b.submit(online_booking(MONDAY, MORNING, nik=nik, data={})).status_code == 201
    assert over_quota(database_url, rig.clock()) == {}
    # the citizen with a's sealed receipt comes through after all: served, flagged, alerted
    r = a.submit(late)
    assert r.status_code == 201, r.text
    assert r.json()["slot"] == {"date": str(MONDAY), "window": MORNING}
    number = r.json()["registration_number"]
    flagged = [x.registration_number for x in applications(rig) if x.over_quota]
    assert flagged == [number]
    assert over_quota(database_url, rig.clock()) == {(SERVICE, MONDAY, MORNING): 2}
    listing = officer.get("/officer/applications").text
    assert listing.count("flag-over-quota") == 1
    assert 'id="over-quota-flag"' in officer.get(f"/officer/applications/{number}").text
    alerts = requests.get(
        f"{rig.base_url}/api/v1/fleet/alerts",
        params={"code": "over_quota"},
        headers=STAFF,
        timeout=10,
    ).json()
    assert [(x["kiosk_id"], x["severity"]) for x in alerts] == [(a.kiosk_id, "critical")]
    assert "melebihi kuota" in alerts[0]["text"]


def test_a_kiosk_back_after_expiry_gives_its_places_in_doubt_back(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})
    lease = on(kiosk.leases(days=4), MONDAY, MORNING)
    rig.clock.now = datetime.fromisoformat(lease["expires_at"]) + timedelta(hours=1)
    assert remaining(kiosk, MONDAY, MORNING) == 0  # in doubt
    held = kiosk.give_back([(lease["lease_id"], 1)])  # closed till then: it will not use it
    assert all(x["lease_id"] != lease["lease_id"] for x in held)
    assert remaining(kiosk, MONDAY, MORNING) == 1


def test_the_sweep_returns_expired_reported_places_with_no_kiosk_calling(
    rig: LeaseServer,
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})
    lease = on(kiosk.leases(days=4), MONDAY, MORNING)
    rig.clock.now = datetime.fromisoformat(lease["book_until"]) + timedelta(seconds=1)
    usage(rig, kiosk)
    assert next(x for x in lease_rows(rig) if x.id == lease["lease_id"]).returned == 0
    rig.clock.now = datetime.fromisoformat(lease["expires_at"]) + timedelta(seconds=1)
    # the app server's background loop (every 50 ms here) writes the expiry down by itself
    wait_for(lambda: next(x for x in lease_rows(rig) if x.id == lease["lease_id"]).returned == 1)
    assert all(x.places == x.used for x in lease_rows(rig) if x.day == MONDAY)


def test_the_worker_sweeps_expired_leases_once_per_deployment(database_url: str) -> None:
    with lease_server(database_url, background_loops=False) as rig:  # a production app server
        [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 2})
        lease = on(kiosk.leases(days=4), MONDAY, MORNING)
        rig.clock.now = datetime.fromisoformat(lease["book_until"]) + timedelta(seconds=1)
        usage(rig, kiosk)
        assert {x.returned for x in lease_rows(rig)} == {0}
        # `anjungan central --worker` on the real clock (past the test calendar's expiries)
        config = CentralConfig(
            server=ServerSettings(database_url=database_url), notify=NotifySettings()
        )
        stop = threading.Event()
        worker = threading.Thread(target=run_worker, args=(config, stop))
        worker.start()
        try:
            wait_for(lambda: all(x.places == x.used for x in lease_rows(rig)), 20)
        finally:
            stop.set()
            worker.join(30)
        assert not worker.is_alive()
        assert sum(x.returned for x in lease_rows(rig)) == 3


def test_a_lease_whose_grant_never_reached_its_kiosk_is_settled_by_its_next_report(
    rig: LeaseServer, database_url: str
) -> None:
    a, b, c = seed_office(rig.base_url, 3, {SERVICE: 6})  # 3 places a window, one each
    proxy = FaultProxy(rig.server.port)  # the network between kiosks a and c and the server
    try:
        proxy.set_mode("reset_after_forward")  # the server grants; the answer is lost
        for kiosk in (a, c):
            with pytest.raises(requests.ConnectionError):
                replace(kiosk, base_url=proxy.base_url).leases(days=4)
    finally:
        proxy.close()
    theirs = b.leases(days=4)
    morning, afternoon = on(theirs, MONDAY, MORNING), on(theirs, MONDAY, AFTERNOON)
    assert {(x.day, x.places) for x in lease_rows(rig, a) if x.day == MONDAY} == {(MONDAY, 1)}
    a.report({})  # a holds none: before the booking time this proves nothing yet
    assert {x.reported_at for x in lease_rows(rig, a)} == {None}
    rig.clock.now = datetime.fromisoformat(morning["book_until"]) + timedelta(minutes=1)
    # after it: a holds none; b names its morning lease (1 booked from it) but not its
    # afternoon one; c sends no lease list (its lease file unreadable)
    a.report({})
    b.report({morning["lease_id"]: 1})
    r = c.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body())
    assert r.status_code == 200, r.text
    settled = {x.id: x for x in lease_rows(rig, a) if x.day == MONDAY}
    assert {(x.reported_used, x.reported_at is not None) for x in settled.values()} == {(0, True)}
    assert {x.reported_used for x in lease_rows(rig, c)} == {None}  # nothing proved: in doubt
    rig.clock.now = datetime.fromisoformat(morning["expires_at"]) + timedelta(hours=1)
    a.report({})  # the steady state writes nothing more
    assert {x.id: x.reported_at for x in lease_rows(rig, a) if x.day == MONDAY} == {
        x.id: x.reported_at for x in settled.values()
    }
    # a's two places and b's afternoon one are back; b's used morning one and c's stay taken
    assert remaining(b, MONDAY, MORNING) == 1
    assert remaining(b, MONDAY, AFTERNOON) == 2
    assert over_quota(database_url, rig.clock()) == {}
    rig.app.state.lease_sweep.run_once()
    rows = {x.id: x for x in lease_rows(rig) if x.day == MONDAY}
    assert {(rows[x].places, rows[x].returned) for x in settled} == {(0, 1)}
    assert (rows[morning["lease_id"]].places, rows[afternoon["lease_id"]].places) == (1, 0)
    with rig.app.state.db.transaction() as session:
        doubt = lease_reports.doubtful(session, c.kiosk_id, rig.clock())
        assert [(x.window, x.places - x.used) for x in doubt] == [(MORNING, 1), (AFTERNOON, 1)]
    assert over_quota(database_url, rig.clock()) == {}
