"""The server's own receipt seal, over HTTP on SQLite and PostgreSQL: an officer moving a held
offline booking to another date or window breaks its kiosk seal, so the server seals the new
slot with its Ed25519 key, the citizen is told with the new verification link, the officer
pages and GET /r/{seal} verify it, and the kiosk's seal verifies as superseded ("moved to"),
neither valid nor forged. The key comes like the server's other secrets (keys.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from central_server import keys
from central_server.auth import create_user
from central_server.models import Application
from central_server.server_seal import SERVER_ID, ServerSealer, key_from_secret
from kiosk_app.services import receipt_seal
from tests.central.conftest import OFFICE, wait_for
from tests.central.lease_rig import LeaseServer, lease_server, seed_office
from tests.central.officer.conftest import PASSWORD, Staff

SERVICE = "kia"
SECRET = "5e" * 32  # what provisioning writes: 64 hex digits, the Ed25519 seed
MONDAY, TUESDAY = date(2026, 11, 23), date(2026, 11, 24)
MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"


@pytest.fixture
def rig(database_url: str) -> Iterator[LeaseServer]:
    with lease_server(database_url, seal_secret=SECRET) as running:
        yield running


def verdict(rig: LeaseServer, sealed: str) -> dict[str, object]:
    r = requests.get(
        f"{rig.base_url}/r/{sealed}", headers={"Accept": "application/json"}, timeout=10
    )
    assert r.status_code == 200, r.text
    answer: dict[str, object] = r.json()
    return answer


def application(rig: LeaseServer, number: str) -> Application:
    with rig.app.state.db.transaction() as session:
        found = session.scalar(select(Application).where(Application.registration_number == number))
        assert found is not None
        session.expunge(found)
        return found


def test_a_moved_held_booking_is_sealed_by_the_server_and_its_kiosk_seal_superseded(
    rig: LeaseServer,
) -> None:
    create_user(rig.app.state.db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    officer = Staff(rig.base_url, "petugas")
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    lease = next(
        x for x in kiosk.leases(days=4) if (x["date"], x["window"]) == (str(MONDAY), MORNING)
    )
    booking = kiosk.offline_booking(lease, rig.clock(), nik="3517089999850001")  # held: day 99
    kiosk_seal = booking["lease"]["seal"]
    number = kiosk.submit(booking).json()["registration_number"]
    assert verdict(rig, kiosk_seal)["status"] == "valid"
    # the officer checks the content, then moves the booking to Tuesday afternoon
    assert officer.act(number, "release").status_code == 303
    r = officer.act(number, "approve", slot=f"{TUESDAY}|{AFTERNOON}")
    assert r.status_code == 303, r.text
    moved = application(rig, number)
    assert (moved.slot_date, moved.slot_window, moved.status) == (TUESDAY, AFTERNOON, "approved")
    server_seal = moved.server_seal
    assert server_seal is not None and moved.seal == kiosk_seal  # the kiosk's kept (dedup)
    # the server's seal: genuine, for the new slot, signed with the configured key
    public = key_from_secret(SECRET).public_key().public_bytes_raw()
    claims = receipt_seal.verify(server_seal, lambda k: public if k == SERVER_ID else None)
    assert (claims.reference, claims.day, claims.window) == (number, TUESDAY, AFTERNOON)
    found = verdict(rig, server_seal)
    assert found["status"] == "valid" and found["moved_to"] is None
    assert found["application"] == {"registration_number": number, "status": "approved"}
    page = requests.get(f"{rig.base_url}/r/{server_seal}", timeout=10).text
    assert 'data-status="valid"' in page and "server pusat" in page
    # the kiosk's seal: genuine but superseded, saying where the booking went
    old = verdict(rig, kiosk_seal)
    assert old["status"] == "superseded"
    assert old["moved_to"] == {"date": str(TUESDAY), "window": AFTERNOON}
    page = requests.get(f"{rig.base_url}/r/{kiosk_seal}", timeout=10).text
    assert 'data-status="superseded"' in page and "SUDAH DIGANTI" in page
    assert "Selasa, 24 November 2026" in page and "TIDAK SAH" not in page
    # the citizen is told, with the new verification link
    wait_for(lambda: any(f"/r/{server_seal}" in m.body for m in rig.sms.sent))
    [told] = [m for m in rig.sms.sent if f"/r/{server_seal}" in m.body]
    assert told.body.count(f"{rig.base_url}/r/{server_seal}") == 1
    assert "menggantikan" in told.body and "13.00-15.00" in told.body
    # the officer pages verify both
    qr = receipt_seal.qr_text(kiosk_seal, "https://anjungan.example")
    checked = officer.get("/officer/seal", params={"seal": qr}).text
    assert 'data-status="superseded"' in checked and f"/officer/applications/{number}" in checked
    checked = officer.get("/officer/seal", params={"seal": server_seal}).text
    assert 'data-status="valid"' in checked
    detail = officer.get(f"/officer/applications/{number}").text
    assert 'id="seal-verdict" data-status="superseded"' in detail
    assert 'id="server-seal-verdict" data-status="valid"' in detail


def test_a_forged_or_altered_server_seal_is_refused(rig: LeaseServer) -> None:
    [kiosk] = seed_office(rig.base_url, 1, {SERVICE: 8})
    number = kiosk.submit(
        {
            "service": SERVICE,
            "applicant_nik": "3517081208850001",
            "applicant_name": "BUDI SANTOSO",
            "data": {},
            "slot": {"date": str(MONDAY), "window": MORNING},
        }
    ).json()["registration_number"]
    app = application(rig, number)
    genuine = ServerSealer(rig.app.state.db.url, SECRET).seal(app)
    assert verdict(rig, genuine)["status"] == "valid"
    forged = ServerSealer("", Ed25519PrivateKey.generate().private_bytes_raw().hex()).seal(app)
    assert verdict(rig, forged)["status"] == "bad_signature"
    head, body, signature = genuine.split(".")
    altered = f"{head}.{body}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert verdict(rig, altered)["status"] == "bad_signature"
    page = requests.get(f"{rig.base_url}/r/{forged}", timeout=10).text
    assert "TIDAK SAH" in page


def test_the_seal_key_comes_from_a_credential_or_a_development_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    for variable in keys.ENVIRONMENT[keys.SEAL_SIGNING_KEY]:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    first = ServerSealer(url).public_key()  # development: made once beside the database
    key_file = tmp_path / "keys" / keys.SEAL_SIGNING_KEY
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}", key_file.read_text())
    assert ServerSealer(url).public_key() == first  # every process reads the same one
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / keys.SEAL_SIGNING_KEY).write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    from_credential = ServerSealer(url).public_key()
    assert from_credential == key_from_secret(SECRET).public_key().public_bytes_raw()
    assert from_credential != first
