"""The batch submission endpoint over HTTP: per-item keys, replays, refusals, one commit."""

from __future__ import annotations

import requests

from central_server.embedded import EmbeddedServer
from tests.central.conftest import ADMIN_TOKEN, OFFICE, count_rows, two_numbers_left_today
from tests.central.test_server_http import FRIDAY, MONDAY, body, enrol


def batch(server: EmbeddedServer, auth: dict[str, str], items: list[tuple[str, dict]]) -> list:
    """POST a batch and return its per-item results."""
    r = requests.post(
        f"{server.base_url}/api/v1/applications/batch",
        json={"items": [{"idempotency_key": k, "application": b} for k, b in items]},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["idempotency_key"] for x in results] == [k for k, _ in items]
    return results


def set_quota(server: EmbeddedServer, quota: int) -> None:
    r = requests.put(
        f"{server.base_url}/api/v1/offices/{OFFICE}/quotas/akta_kelahiran",
        json={"daily_quota": quota},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_batch_creates_in_order_and_replays_what_single_submit_stored(
    server: EmbeddedServer, db_path: str
) -> None:
    auth = enrol(server)
    single = requests.post(
        f"{server.base_url}/api/v1/applications",
        json=body(),
        headers={**auth, "Idempotency-Key": "key-single-1"},
        timeout=10,
    )
    assert single.status_code == 201
    items = [("key-single-1", body())] + [
        (f"key-batch-{n:03d}", body(data={"child_name": f"Anak {n}"})) for n in range(5)
    ]
    results = batch(server, auth, items)
    assert [x["status"] for x in results] == [200, 201, 201, 201, 201, 201]
    assert results[0]["application"] == single.json()
    numbers = [x["application"]["registration_number"] for x in results]
    assert len(set(numbers)) == 6
    assert [x["application"]["queue_number"] for x in results[1:]] == [
        "A-002",
        "A-003",
        "A-004",
        "A-005",
        "A-006",
    ]
    again = batch(server, auth, items)  # the answer was lost: resending doubles nothing
    assert [x["status"] for x in again] == [200] * 6
    assert [x["application"] for x in again] == [x["application"] for x in results]
    replay = requests.post(
        f"{server.base_url}/api/v1/applications",
        json=items[3][1],
        headers={**auth, "Idempotency-Key": items[3][0]},
        timeout=10,
    )
    assert replay.status_code == 200 and replay.json() == results[3]["application"]
    assert count_rows(db_path) == 6


def test_refusals_are_per_item_and_spoil_nothing_else(server: EmbeddedServer, db_path: str) -> None:
    auth = enrol(server)
    set_quota(server, 2)  # Friday: the morning window alone, 1 place
    items = [
        ("key-fri-0001", body(day=FRIDAY)),
        ("key-fri-0002", body(day=FRIDAY, data={"child_name": "Dua"})),  # full now
        ("key-closed-1", body(day=FRIDAY, window="13.00-15.00")),  # closed on Fridays
        ("key-monday-1", body(day=MONDAY)),
        ("key-fri-0001", body(day=FRIDAY)),
    ]
    r = requests.post(
        f"{server.base_url}/api/v1/applications/batch",
        headers=auth,
        timeout=10,
        json={"items": [{"idempotency_key": k, "application": b} for k, b in items]},
    )
    assert r.status_code == 422 and r.json()["detail"]["code"] == "duplicate_key"
    results = batch(server, auth, items[:4])
    assert [x["status"] for x in results] == [201, 409, 409, 201]
    assert results[1]["error"]["code"] == "slot_full"
    assert results[2]["error"]["code"] == "slot_unavailable"
    assert results[1]["application"] is None
    conflict = batch(server, auth, [("key-monday-1", body(day=MONDAY, applicant_name="Lain"))])
    assert conflict[0]["status"] == 409
    assert conflict[0]["error"]["code"] == "idempotency_conflict"
    assert count_rows(db_path) == 2


def test_batch_needs_a_kiosk_token_and_valid_items(server: EmbeddedServer) -> None:
    url = f"{server.base_url}/api/v1/applications/batch"
    item = {"idempotency_key": "key-000001", "application": body()}
    assert requests.post(url, json={"items": [item]}, timeout=10).status_code == 401
    auth = enrol(server)
    bad = {"idempotency_key": "key-000002", "application": body(applicant_nik="12")}
    r = requests.post(url, json={"items": [item, bad]}, headers=auth, timeout=10)
    assert r.status_code == 422  # one invalid item refuses the batch: the kiosk goes one by one
    too_many = [{"idempotency_key": f"key-{n:06d}", "application": body()} for n in range(101)]
    assert requests.post(url, json={"items": too_many}, headers=auth, timeout=10).status_code == 422


def test_a_running_out_sequence_falls_back_to_item_by_item(
    server: EmbeddedServer, db_path: str
) -> None:
    two_numbers_left_today(db_path)
    auth = enrol(server)
    items = [(f"key-last-{n:04d}", body(data={"child_name": f"Anak {n}"})) for n in range(3)]
    results = batch(server, auth, items)
    assert [x["status"] for x in results] == [201, 201, 409]
    assert [x["application"]["registration_number"][-4:] for x in results[:2]] == ["9998", "9999"]
    assert results[2]["error"]["code"] == "sequence_exhausted"
    assert count_rows(db_path) == 2
