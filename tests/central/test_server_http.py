"""The central server's kiosk API over real HTTP with plain requests."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import requests

from central_server.embedded import EmbeddedServer, start_embedded
from central_server.numbering import REGISTRATION_NUMBER_RE
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY, count_rows

NIK = "3517014501200001"
FRIDAY, MONDAY = date(2026, 11, 20), date(2026, 11, 23)
DOC = Path(__file__).resolve().parents[2] / "docs" / "registration-numbers.md"


def enrol(server: EmbeddedServer, kiosk_id: str = "kiosk-01") -> dict[str, str]:
    """Register a kiosk and return its auth header."""
    r = requests.post(
        f"{server.base_url}/api/v1/kiosks",
        json={"kiosk_id": kiosk_id, "office_code": OFFICE, "name": "Lobi"},
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def body(day: date = MONDAY, window: str = "08.00-11.00", **over: object) -> dict[str, object]:
    """A valid application body."""
    base: dict[str, object] = {
        "service": "akta_kelahiran",
        "applicant_nik": NIK,
        "applicant_name": "Siti Aminah",
        "data": {"child_name": "Budi"},
        "slot": {"date": day.isoformat(), "window": window},
        "local_reference": "LOCAL-1",
        "submitted_at": None,
    }
    return base | over


def post(
    server: EmbeddedServer, auth: dict[str, str], key: str, payload: object
) -> requests.Response:
    """POST an application with an Idempotency-Key."""
    return requests.post(
        f"{server.base_url}/api/v1/applications",
        json=payload,
        headers={**auth, "Idempotency-Key": key},
        timeout=30,
    )


def slots(
    server: EmbeddedServer, auth: dict[str, str], service: str = "akta_kelahiran", days: int = 14
) -> dict[tuple[str, str], int]:
    """Current slots as {(date, window): remaining}."""
    r = requests.get(
        f"{server.base_url}/api/v1/slots", params={"service": service, "days": days}, headers=auth
    )
    assert r.status_code == 200, r.text
    return {(s["date"], s["window"]): s["remaining"] for s in r.json()}


def set_quota(
    server: EmbeddedServer,
    quota: int,
    service: str = "akta_kelahiran",
    token: str | None = ADMIN_TOKEN,
) -> requests.Response:
    """PUT a daily quota with the admin token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.put(
        f"{server.base_url}/api/v1/offices/{OFFICE}/quotas/{service}",
        json={"daily_quota": quota},
        headers=headers,
    )


def test_health_and_openapi(server: EmbeddedServer) -> None:
    assert requests.get(f"{server.base_url}/health").json() == {"status": "ok"}
    spec = requests.get(f"{server.base_url}/openapi.json").json()
    assert spec["info"]["title"] == "Anjungan central server"
    for path in (
        "/api/v1/kiosks",
        "/api/v1/slots",
        "/api/v1/applications",
        "/api/v1/applications/{registration_number}",
        "/api/v1/offices/{office_code}/quotas/{service}",
        "/api/v1/leases",
        "/api/v1/leases/return",
        "/api/v1/kiosk/signing-key",
    ):
        assert path in spec["paths"], path
    schemas = spec["components"]["schemas"]
    assert "lease" in schemas["ApplicationIn"]["properties"]  # offline bookings carry it
    assert "signing_key" in schemas["EnrolIn"]["properties"]
    assert requests.get(f"{server.base_url}/docs").status_code == 200


def test_auth_required_and_token_rotation(server: EmbeddedServer) -> None:
    url = f"{server.base_url}/api/v1/slots?service=kia"
    missing = requests.get(url)
    assert missing.status_code == 401
    assert missing.json()["detail"]["code"] == "unauthorized"
    assert requests.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    old = enrol(server)
    assert requests.get(url, headers=old).status_code == 200
    new = enrol(server)  # re-registering rotates the token
    assert new != old
    assert requests.get(url, headers=old).status_code == 401
    assert requests.get(url, headers=new).status_code == 200
    assert post(server, {}, "key-00000001", body()).status_code == 401


def test_enrolment_rejects_unknown_office_and_bad_ids(server: EmbeddedServer) -> None:
    url = f"{server.base_url}/api/v1/kiosks"
    r = requests.post(url, json={"kiosk_id": "k1", "office_code": "9999", "name": "x"})
    assert (r.status_code, r.json()["detail"]["code"]) == (404, "unknown_office")
    r = requests.post(url, json={"kiosk_id": "bad id/..", "office_code": OFFICE, "name": "x"})
    assert r.status_code == 422


def test_slots_only_on_working_days_within_horizon(server: EmbeddedServer) -> None:
    auth = enrol(server)
    available = slots(server, auth, days=14)
    days = {date.fromisoformat(d) for d, _ in available}
    assert days and all(TODAY < d <= TODAY + timedelta(days=14) for d in days)
    assert all(d.weekday() < 5 for d in days)  # weekends excluded
    assert len(days) == 10  # Fri 20 .. Thu 3 Dec holds ten working days
    friday_windows = {w for d, w in available if d == FRIDAY.isoformat()}
    assert friday_windows == {"08.00-11.00"}
    assert set(available.values()) == {25}  # default 50 per day split 25 + 25
    assert set(slots(server, auth, days=1)) == {(FRIDAY.isoformat(), "08.00-11.00")}
    assert not {d for d, _ in slots(server, auth, days=3)} - {FRIDAY.isoformat()}


def test_slots_parameter_validation(server: EmbeddedServer) -> None:
    auth = enrol(server)
    for params in (
        {"service": "paspor"},
        {"service": "kia", "days": 15},
        {"service": "kia", "days": 0},
    ):
        r = requests.get(f"{server.base_url}/api/v1/slots", params=params, headers=auth)
        assert r.status_code == 422, params


def test_slots_decrease_and_disappear_when_quota_reached(
    server: EmbeddedServer, db_path: Path
) -> None:
    auth = enrol(server)
    assert set_quota(server, 3).json()["daily_quota"] == 3
    morning, afternoon = (MONDAY.isoformat(), "08.00-11.00"), (MONDAY.isoformat(), "13.00-15.00")
    before = slots(server, auth)
    assert (before[morning], before[afternoon]) == (2, 1)  # ceil(3/2), floor(3/2)
    assert post(server, auth, "key-00000001", body()).status_code == 201
    assert slots(server, auth)[morning] == 1
    assert post(server, auth, "key-00000002", body(window="13.00-15.00")).status_code == 201
    after = slots(server, auth)
    assert afternoon not in after and after[morning] == 1
    full = post(server, auth, "key-00000003", body(window="13.00-15.00"))
    assert full.status_code == 409
    assert full.json()["detail"]["code"] == "slot_full"
    assert count_rows(db_path) == 2
    assert slots(server, auth, service="kia")[afternoon] == 25  # other services untouched


def test_quota_endpoint_needs_admin_token(server: EmbeddedServer, tmp_path: Path) -> None:
    assert set_quota(server, 10, token=None).status_code == 401
    assert set_quota(server, 10, token="wrong").status_code == 401
    assert set_quota(server, 301).status_code == 422
    assert set_quota(server, 10, service="paspor").status_code == 422
    with start_embedded(f"sqlite:///{tmp_path / 'b.db'}", admin_token="") as unguarded:
        r = set_quota(unguarded, 10)
        assert (r.status_code, r.json()["detail"]["code"]) == (403, "admin_disabled")


def test_idempotent_replay_returns_first_answer(server: EmbeddedServer, db_path: Path) -> None:
    auth = enrol(server)
    first = post(server, auth, "same-key-123", body())
    again = post(server, auth, "same-key-123", body())
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert count_rows(db_path) == 1
    conflict = post(server, auth, "same-key-123", body(applicant_name="Other Person"))
    assert (conflict.status_code, conflict.json()["detail"]["code"]) == (
        409,
        "idempotency_conflict",
    )
    other_kiosk = post(server, enrol(server, "kiosk-02"), "same-key-123", body())
    assert other_kiosk.status_code == 201  # keys are scoped per kiosk
    assert other_kiosk.json()["registration_number"] != first.json()["registration_number"]
    assert count_rows(db_path) == 2


def test_idempotency_under_concurrency(server: EmbeddedServer, db_path: Path) -> None:
    auth = enrol(server)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: post(server, auth, "concurrent-key", body()), range(20)))
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201]
    assert len({r.json()["registration_number"] for r in answers}) == 1
    assert count_rows(db_path) == 1


def test_concurrent_distinct_submissions_get_distinct_sequences(server: EmbeddedServer) -> None:
    auth = enrol(server)
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda i: post(server, auth, f"key-{i:08d}", body()), range(20)))
    assert all(r.status_code == 201 for r in answers)
    sequences = sorted(int(r.json()["registration_number"][-4:]) for r in answers)
    assert sequences == list(range(1, 21))
    assert sorted(r.json()["queue_number"] for r in answers) == [f"A-{n:03d}" for n in range(1, 21)]


def test_idempotency_key_header_required(server: EmbeddedServer) -> None:
    auth = enrol(server)
    r = requests.post(f"{server.base_url}/api/v1/applications", json=body(), headers=auth)
    assert (r.status_code, r.json()["detail"]["code"]) == (400, "idempotency_key_required")
    assert post(server, auth, "short", body()).status_code == 400
    assert post(server, auth, "x" * 129, body()).status_code == 400


def test_registration_numbers_follow_the_documented_format(server: EmbeddedServer) -> None:
    doc_regex = re.search(r"```regex\n(.+?)\n```", DOC.read_text(encoding="utf-8")).group(1)
    auth = enrol(server)
    answers = [
        post(server, auth, f"key-{n:08d}", body(service=service, window=window)).json()
        for n, (service, window) in enumerate(
            [
                ("akta_kelahiran", "08.00-11.00"),
                ("kia", "13.00-15.00"),
                ("pindah", "08.00-11.00"),
                ("cetak_ulang_ktp", "08.00-11.00"),
            ]
        )
    ]
    numbers = [a["registration_number"] for a in answers]
    for number in numbers:
        assert re.fullmatch(doc_regex, number) and REGISTRATION_NUMBER_RE.fullmatch(number)
        assert NIK[4:] not in number
    assert [n.split("-")[0] for n in numbers] == ["AKTA", "KIA", "PDH", "KTP"]
    assert {n.split("-")[1][:-5] for n in numbers} == {"35.17.261119"}  # office + submission day
    assert [int(n[-4:]) for n in numbers] == [1, 2, 3, 4]
    assert [a["queue_number"] for a in answers] == ["A-001", "B-001", "A-002", "A-003"]
    assert {a["office_name"] for a in answers} == {
        "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Jombang"
    }


def test_status_lookup_hides_personal_data(server: EmbeddedServer) -> None:
    auth = enrol(server)
    number = post(server, auth, "key-00000001", body()).json()["registration_number"]
    r = requests.get(f"{server.base_url}/api/v1/applications/{number}", headers=auth)
    assert r.status_code == 200
    got = r.json()
    assert (got["registration_number"], got["status"]) == (number, "submitted")
    assert got["status_text"]["id"] and got["status_text"]["en"]
    assert got["masked_name"] == "S*** A*****"
    assert got["slot"] == {"date": MONDAY.isoformat(), "window": "08.00-11.00"}
    assert NIK not in r.text and "Siti" not in r.text and "Aminah" not in r.text
    missing = requests.get(
        f"{server.base_url}/api/v1/applications/AKTA-35.17.261119.9999", headers=auth
    )
    assert (missing.status_code, missing.json()["detail"]["code"]) == (404, "not_found")
    assert requests.get(f"{server.base_url}/api/v1/applications/{number}").status_code == 401


def test_malformed_requests_are_422(server: EmbeddedServer, db_path: Path) -> None:
    auth = enrol(server)
    raw = requests.post(
        f"{server.base_url}/api/v1/applications",
        data="{not json",
        headers={**auth, "Idempotency-Key": "key-00000001", "Content-Type": "application/json"},
    )
    assert raw.status_code == 422
    for n, bad in enumerate(
        [
            body(applicant_nik="351701450120000"),
            body(applicant_nik="35170145012000AB"),
            body(service="paspor"),
            body(applicant_name="   "),
            body(data={"k": 5}),
            body(slot={"date": "2026-13-01", "window": "08.00-11.00"}),
        ]
    ):
        assert post(server, auth, f"bad-key-{n:04d}", bad).status_code == 422, bad
    assert count_rows(db_path) == 0


def test_closed_or_unknown_windows_are_409(server: EmbeddedServer, db_path: Path) -> None:
    auth = enrol(server)
    for n, (day, window) in enumerate(
        [
            (MONDAY, "10.00-12.00"),
            (FRIDAY, "13.00-15.00"),
            (date(2026, 11, 21), "08.00-11.00"),
            (TODAY, "08.00-11.00"),
            (TODAY + timedelta(days=15), "08.00-11.00"),
        ]
    ):
        r = post(server, auth, f"closed-{n:04d}", body(day=day, window=window))
        assert (r.status_code, r.json()["detail"]["code"]) == (409, "slot_unavailable"), day
    assert count_rows(db_path) == 0
