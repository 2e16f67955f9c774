"""Hostile and out-of-order lease traffic over HTTP on SQLite and PostgreSQL (an outsider's
findings): a usage count lowered after its final report or replayed late, another kiosk's or
office's lease ids, a non-integer count, a technician confirming a release after the kiosk
reported meanwhile."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from central_server.auth import create_user
from central_server.fleet.schemas import MAX_LEASES
from central_server.models import SlotLease
from tests.central.conftest import ADMIN_TOKEN, OFFICE
from tests.central.fleet.helpers import heartbeat_body
from tests.central.lease_rig import (
    SERVICE,
    LeaseKiosk,
    LeaseServer,
    lease_server,
    over_quota,
    seed_office,
)
from tests.central.officer.conftest import PASSWORD, Staff

JSON = {"Content-Type": "application/json"}
MONDAY = date(2026, 11, 23)
MORNING = "08.00-11.00"
OTHER_OFFICE = "3578"


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url, offices=[(OTHER_OFFICE, "Kota Surabaya")]) as running:
        yield running


def row(rig: LeaseServer, lease_id: str) -> SlotLease:
    with rig.app.state.db.transaction() as session:
        found = session.scalar(select(SlotLease).where(SlotLease.id == lease_id))
        assert found is not None
        return found


def monday_morning(kiosk: LeaseKiosk) -> dict[str, object]:
    [lease] = [
        x for x in kiosk.leases(days=4) if (x["date"], x["window"]) == (str(MONDAY), MORNING)
    ]
    return lease


def test_a_final_count_is_never_lowered_by_a_late_or_lying_report(
    rig: LeaseServer, database_url: str
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    lease = monday_morning(kiosk)
    lid = str(lease["lease_id"])
    everything = {x.id: 0 for x in _leases(rig, kiosk)}
    booked = int(str(lease["places"]))  # every place booked offline, none arrived yet
    kiosk.report(everything | {lid: booked - 1})  # before book_until
    rig.clock.now = datetime.fromisoformat(str(lease["book_until"])) + timedelta(minutes=1)
    kiosk.report(everything | {lid: booked})  # final
    kiosk.report(everything)  # a heartbeat replayed late (or a kiosk lying): zero
    rig.clock.now = datetime.fromisoformat(str(lease["expires_at"])) + timedelta(hours=1)
    kiosk.report(everything | {lid: booked - 1})
    rig.app.state.lease_sweep.run_once()
    found = row(rig, lid)
    assert found.reported_used == booked
    assert found.places == booked  # the bookings on their way keep their places
    assert over_quota(database_url, rig.clock()) == {}


def test_another_kiosks_or_offices_lease_ids_and_odd_counts_change_nothing(
    rig: LeaseServer,
) -> None:
    a, b = seed_office(rig.base_url, 2, {SERVICE: 4})
    [c] = seed_office(rig.base_url, 1, {SERVICE: 4}, office=OTHER_OFFICE, prefix="sby")
    theirs, far = monday_morning(b), monday_morning(c)
    foreign = {str(theirs["lease_id"]): 1, str(far["lease_id"]): 1}
    r = a.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(leases=foreign))
    assert r.status_code == 200, r.text
    assert row(rig, str(theirs["lease_id"])).reported_used is None
    assert row(rig, str(far["lease_id"])).reported_used is None
    mine = str(monday_morning(a)["lease_id"])
    for odd in (-1, 100_001, 1.5, "1", True, None):
        r = a.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(leases={mine: odd}))
        assert r.status_code == 422, (odd, r.text)
    assert row(rig, mine).reported_used is None
    # 0.0 is JSON's integer 0, as the document's "integer" says (schemathesis sends it)
    r = a.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(leases={mine: 0.0}))
    assert r.status_code == 200, r.text
    assert row(rig, mine).reported_used == 0
    huge = json.dumps(heartbeat_body(leases={mine: 0})).replace(f'"{mine}": 0', f'"{mine}": 1e309')
    r = a.call("POST", "/api/v1/fleet/heartbeat", data=huge, headers=JSON)
    assert r.status_code == 422, r.text  # infinity is no count (and no 500 converting it)
    # a heartbeat names at most MAX_LEASES leases (each costs its batch an UPDATE)
    most = {f"x{i}": 0 for i in range(MAX_LEASES)}
    r = a.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(leases=most))
    assert r.status_code == 200, r.text
    too_many = most | {"one-more": 0}
    r = a.call("POST", "/api/v1/fleet/heartbeat", json=heartbeat_body(leases=too_many))
    assert r.status_code == 422


def test_a_release_confirmed_after_the_kiosk_reported_releases_nothing(
    rig: LeaseServer, database_url: str
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    lease = monday_morning(kiosk)
    lid = str(lease["lease_id"])
    rig.clock.now = datetime.fromisoformat(str(lease["expires_at"])) + timedelta(hours=1)
    technician = requests.Session()
    r = technician.post(f"{rig.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert r.status_code == 200, r.text
    page = technician.get(f"{rig.base_url}/fleet/kiosks/{kiosk.kiosk_id}", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    release = f"{rig.base_url}/fleet/kiosks/{kiosk.kiosk_id}/leases/release"
    asked = technician.post(release, data={"csrf": csrf.group(1)}, timeout=10)
    assert 'id="confirm-release"' in asked.text
    # meanwhile the kiosk comes back: it booked every place of its Monday morning lease
    booked = int(str(lease["places"]))
    kiosk.report({x.id: 0 for x in _leases(rig, kiosk)} | {lid: booked})
    done = technician.post(release, data={"csrf": csrf.group(1), "confirmed": "1"}, timeout=10)
    assert done.status_code == 200
    found = row(rig, lid)
    assert (found.places, found.released_by) == (booked, None)
    again = technician.post(release, data={"csrf": csrf.group(1), "confirmed": "1"}, timeout=10)
    assert 'id="lease-released">Dilepas / released: 0' in again.text
    assert over_quota(database_url, rig.clock()) == {}


def _leases(rig: LeaseServer, kiosk: LeaseKiosk) -> list[SlotLease]:
    with rig.app.state.db.transaction() as session:
        return list(session.scalars(select(SlotLease).where(SlotLease.kiosk_id == kiosk.kiosk_id)))


def test_the_kiosk_page_quotes_no_query_text_and_an_officer_cannot_release(
    rig: LeaseServer,
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    lease = monday_morning(kiosk)
    rig.clock.now = datetime.fromisoformat(str(lease["expires_at"])) + timedelta(hours=1)
    technician = requests.Session()
    technician.post(f"{rig.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    page = f"{rig.base_url}/fleet/kiosks/{kiosk.kiosk_id}"
    lure = technician.get(
        page, params={"error": "HUBUNGI 0812-0000 SEGERA", "released": "semua"}, timeout=10
    ).text
    assert "HUBUNGI" not in lure and "semua" not in lure
    assert 'id="command-error"' not in lure and 'id="lease-released"' not in lure
    refused = technician.get(page, params={"error": "csrf"}, timeout=10).text
    assert "formulir kedaluwarsa" in refused
    # an officer's session (not a technician) and a forged form: nothing released
    create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    officer = Staff(rig.base_url, "petugas")
    release = f"{page}/leases/release"
    for session in (officer.http, requests.Session()):
        r = session.post(release, data={"csrf": "x", "confirmed": "1"}, timeout=10)
        assert r.status_code in (200, 401, 403) and "Dilepas" not in r.text
    forged = technician.post(release, data={"csrf": "forged", "confirmed": "1"}, timeout=10)
    assert "formulir kedaluwarsa" in forged.text
    assert row(rig, str(lease["lease_id"])).released_by is None
