"""Receipt seals attacked from outside, over HTTP on SQLite and PostgreSQL: a stolen kiosk
token submitting a signing key of its own (pending a technician's approval, see
test_seal_key_change.py) can neither forge seals dated before it nor void the genuine ones
(each seal is checked with the key in force when it was issued); the submission is
audit-logged and shown on the fleet dashboard; a revoked kiosk's seals still verify
and its token registers nothing; garbage seals are refused without a 500."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
import requests
from sqlalchemy import select

from central_server.auth import create_user
from central_server.models import Application, KioskSigningKey
from central_server.settings import WIB
from kiosk_app.services import receipt_seal
from tests.central.conftest import ADMIN_TOKEN, OFFICE
from tests.central.fleet.helpers import STAFF
from tests.central.lease_rig import SERVICE, LeaseKiosk, LeaseServer, lease_server, seed_office
from tests.central.officer.conftest import PASSWORD, Staff

MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)
MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url) as running:
        yield running


def verdict(rig: LeaseServer, sealed: str) -> requests.Response:
    return requests.get(
        f"{rig.base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10
    )


def keys(rig: LeaseServer, kiosk: LeaseKiosk) -> list[str]:
    with rig.app.state.db.transaction() as session:
        return list(
            session.scalars(
                select(KioskSigningKey.public_key)
                .where(KioskSigningKey.kiosk_id == kiosk.kiosk_id)
                .order_by(KioskSigningKey.valid_from)
            )
        )


def test_a_replaced_signing_key_neither_voids_nor_forges_earlier_seals(
    rig: LeaseServer, caplog: pytest.LogCaptureFixture
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    issued = rig.clock() - timedelta(hours=2)
    genuine = kiosk.offline_booking(lease, issued)  # sealed with the enrolment key
    genuine_seal = genuine["lease"]["seal"]
    assert verdict(rig, genuine_seal).json()["status"] == "valid"
    # a thief with the kiosk's token submits a key of their own: pending, not in force
    thief = receipt_seal.new_key()
    with caplog.at_level(logging.WARNING, logger="central_server.audit"):
        r = kiosk.call(
            "PUT",
            "/api/v1/kiosk/signing-key",
            json={"signing_key": receipt_seal.public_key_text(thief)},
        )
    assert r.status_code == 202 and r.json()["state"] == "pending", r.text
    audit = [m.getMessage() for m in caplog.records if m.name == "central_server.audit"]
    assert any(f"kiosk {kiosk.kiosk_id} submitted receipt signing key" in m for m in audit)
    # the genuine seal still verifies; one forged for the same past moment does not
    assert verdict(rig, genuine_seal).json()["status"] == "valid"
    forged = replace(kiosk, key=thief).offline_booking(lease, issued)
    assert verdict(rig, forged["lease"]["seal"]).json()["status"] == "bad_signature"
    # the genuine offline booking still arrives from the outbox and is admitted
    assert kiosk.submit(genuine).status_code == 201
    refused = kiosk.submit(forged)
    assert refused.status_code != 201, refused.text
    # the same key again changes nothing; the dashboard shows the key waiting for approval
    again = receipt_seal.public_key_text(thief)
    kiosk.call("PUT", "/api/v1/kiosk/signing-key", json={"signing_key": again})
    assert len(keys(rig, kiosk)) == 2
    technician = requests.Session()
    technician.post(f"{rig.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    page = technician.get(f"{rig.base_url}/fleet/kiosks/{kiosk.kiosk_id}", timeout=10).text
    assert 'id="key-replaced"' not in page and "Kunci segel baru menunggu persetujuan" in page
    assert re.search(r"<td>kiosk</td>", page)  # registered with the kiosk's token


def test_a_revoked_kiosks_seals_still_verify_and_its_token_registers_no_key(
    rig: LeaseServer,
) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 4})
    [lease, *_] = kiosk.leases(days=4)
    sealed = kiosk.offline_booking(lease, rig.clock())["lease"]["seal"]
    r = requests.delete(
        f"{rig.base_url}/api/v1/kiosks/{kiosk.kiosk_id}/token", headers=STAFF, timeout=10
    )
    assert r.status_code == 204
    stolen = receipt_seal.public_key_text(receipt_seal.new_key())
    r = kiosk.call("PUT", "/api/v1/kiosk/signing-key", json={"signing_key": stolen})
    assert r.status_code == 401
    assert verdict(rig, sealed).json()["status"] == "valid"
    assert len(keys(rig, kiosk)) == 1


@pytest.mark.parametrize(
    "garbage",
    ["x", "%00", "a.b", "A" * 4000, "é" * 50, "LOK~~~.sig", "<script>alert(1)<"],
)
def test_garbage_seals_are_refused_without_a_500(rig: LeaseServer, garbage: str) -> None:
    r = verdict(rig, garbage)
    assert r.status_code == 404 and r.json()["status"] == "malformed"
    page = requests.get(f"{rig.base_url}/r/{garbage}", timeout=10)
    assert page.status_code == 404 and "<script>alert" not in page.text


def test_check_in_with_the_seal_of_a_moved_booking_old_or_new(database_url: str) -> None:
    with lease_server(database_url, seal_secret="5e" * 32) as rig:
        create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
        officer = Staff(rig.base_url, "petugas")
        [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
        lease = next(
            x for x in kiosk.leases(days=4) if (x["date"], x["window"]) == (str(MONDAY), MORNING)
        )
        booking = kiosk.offline_booking(lease, rig.clock(), nik="3517089999850001")  # held
        kiosk_seal = booking["lease"]["seal"]
        number = kiosk.submit(booking).json()["registration_number"]
        assert officer.act(number, "release").status_code == 303
        assert officer.act(number, "approve", slot=f"{TUESDAY}|{AFTERNOON}").status_code == 303
        with rig.app.state.db.transaction() as session:
            server_seal = session.scalar(
                select(Application.server_seal).where(Application.registration_number == number)
            )
        assert server_seal is not None

        def check_in(sealed: str) -> requests.Response:
            qr = receipt_seal.qr_text(sealed, rig.base_url)
            return kiosk.call("POST", "/api/v1/checkin", json={"seal": qr})

        # on Monday (the old receipt's day) the old seal names the booking: it is on Tuesday
        rig.clock.now = datetime.combine(MONDAY, time(8, 30), WIB)
        r = check_in(kiosk_seal)
        assert r.status_code == 409 and r.json()["detail"]["code"] == "other_day", r.text
        # on Tuesday afternoon either receipt checks the citizen in, once
        rig.clock.now = datetime.combine(TUESDAY, time(13, 5), WIB)
        first = check_in(server_seal)
        assert first.status_code == 200, first.text
        again = check_in(kiosk_seal)
        assert again.status_code == 200 and again.json()["repeat"] is True
        assert again.json()["calling_number"] == first.json()["calling_number"]
        # a server seal altered by one character is still refused
        altered = server_seal[:-2] + ("A" if server_seal[-2] != "A" else "B") + server_seal[-1]
        assert check_in(altered).json()["detail"]["code"] in ("bad_seal", "not_found")
