"""One admission, two doors: the single and the batch submission apply the same rules over HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from central_server.embedded import EmbeddedServer
from central_server.numbering import MAX_DAILY_SEQUENCE
from tests.central.conftest import OFFICE, TODAY, count_rows
from tests.central.test_batch_submit import set_quota
from tests.central.test_server_http import FRIDAY, MONDAY, body, enrol

TUESDAY, WEDNESDAY = date(2026, 11, 24), date(2026, 11, 25)
MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"
Item = tuple[str, dict[str, object]]


@dataclass(frozen=True)
class Result:
    """What a door answered for one item: status, error code, and the booked application."""

    status: int
    code: str | None = None
    queue_number: str | None = None
    slot: tuple[str, str] | None = None
    moved_from: tuple[str, str] | None = None


def _booked(status: int, answer: dict[str, Any]) -> Result:
    moved = answer["moved_from"]
    return Result(
        status,
        None,
        answer["queue_number"],
        (answer["slot"]["date"], answer["slot"]["window"]),
        (moved["date"], moved["window"]) if moved else None,
    )


def send_single(server: EmbeddedServer, auth: dict[str, str], items: list[Item]) -> list[Result]:
    """Each item as its own POST /api/v1/applications."""
    results = []
    for key, payload in items:
        r = requests.post(
            f"{server.base_url}/api/v1/applications",
            json=payload,
            headers={**auth, "Idempotency-Key": key},
            timeout=30,
        )
        if r.status_code in (200, 201):
            assert (r.headers.get("Idempotent-Replayed") == "true") == (r.status_code == 200)
            results.append(_booked(r.status_code, r.json()))
        else:
            results.append(Result(r.status_code, r.json()["detail"]["code"]))
    return results


def send_batch(server: EmbeddedServer, auth: dict[str, str], items: list[Item]) -> list[Result]:
    """All items in one POST /api/v1/applications/batch."""
    r = requests.post(
        f"{server.base_url}/api/v1/applications/batch",
        headers=auth,
        timeout=30,
        json={"items": [{"idempotency_key": k, "application": b} for k, b in items]},
    )
    assert r.status_code == 200, r.text
    return [
        _booked(x["status"], x["application"])
        if x["application"]
        else Result(x["status"], x["error"]["code"])
        for x in r.json()["results"]
    ]


DOORS = {"single": send_single, "batch": send_batch}


def exhaust_registration_numbers(database_url: str) -> None:
    """Spend today's registration sequence of the office (as 9,999 earlier submissions would)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE counters SET value = :v WHERE name = :n"),
                {"v": MAX_DAILY_SEQUENCE, "n": f"reg:{OFFICE}:{TODAY}"},
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("door", DOORS)
def test_both_submission_paths_admit_and_refuse_alike(
    door: str, server: EmbeddedServer, database_url: str
) -> None:
    auth = enrol(server)
    send = DOORS[door]
    set_quota(server, 2)  # Friday: one morning place; Monday: one morning, one afternoon
    fri = ("k-fri-0001", body(day=FRIDAY))
    first = send(
        server,
        auth,
        [
            fri,
            ("k-fri-0002", body(day=FRIDAY, data={"child_name": "Dua"})),  # the place is taken
            ("k-closed-1", body(day=FRIDAY, window=AFTERNOON)),  # closed on Fridays
            ("k-past-001", body(day=date(2026, 11, 18))),  # yesterday
            ("k-moved-01", body(day=FRIDAY, data={"child_name": "Tiga"}, if_slot_full="next_free")),
            ("k-mon-pm-1", body(day=MONDAY, window=AFTERNOON)),
        ],
    )
    fri_slot, mon_slot = (FRIDAY.isoformat(), MORNING), (MONDAY.isoformat(), MORNING)
    assert first == [
        Result(201, None, "A-001", fri_slot),
        Result(409, "slot_full"),
        Result(409, "slot_unavailable"),
        Result(409, "slot_unavailable"),
        Result(201, None, "A-001", mon_slot, moved_from=fri_slot),
        Result(201, None, "B-001", (MONDAY.isoformat(), AFTERNOON)),
    ]
    second = send(
        server,
        auth,
        [
            fri,  # the answer was lost: the same request replays
            ("k-mon-pm-1", body(day=MONDAY, window=AFTERNOON, applicant_name="Lain")),
            ("k-tue-0001", body(day=TUESDAY)),
        ],
    )
    assert second == [
        Result(200, None, "A-001", fri_slot),
        Result(409, "idempotency_conflict"),
        Result(201, None, "A-001", (TUESDAY.isoformat(), MORNING)),
    ]
    exhaust_registration_numbers(database_url)
    third = send(
        server,
        auth,
        [
            ("k-wed-0001", body(day=WEDNESDAY)),
            fri,
            ("k-wed-0002", body(day=WEDNESDAY, window=AFTERNOON)),
        ],
    )
    assert third == [
        Result(409, "sequence_exhausted"),
        Result(200, None, "A-001", fri_slot),
        Result(409, "sequence_exhausted"),
    ]


@pytest.mark.parametrize(("first", "then"), [("single", "batch"), ("batch", "single")])
def test_what_one_path_stored_the_other_replays(
    first: str, then: str, server: EmbeddedServer
) -> None:
    auth = enrol(server)
    items: list[Item] = [("k-cross-01", body()), ("k-cross-02", body(day=TUESDAY))]
    stored = DOORS[first](server, auth, items)
    assert [r.status for r in stored] == [201, 201]
    replayed = DOORS[then](server, auth, items)
    assert replayed == [Result(200, r.code, r.queue_number, r.slot, r.moved_from) for r in stored]
    conflict = DOORS[then](server, auth, [("k-cross-01", body(applicant_name="Lain"))])
    assert conflict == [Result(409, "idempotency_conflict")]


@pytest.mark.parametrize("door", DOORS)
def test_concurrent_resends_of_the_same_requests_create_each_once(
    door: str, server: EmbeddedServer, database_url: str
) -> None:
    auth = enrol(server)
    items: list[Item] = [("k-race-001", body()), ("k-race-002", body(day=TUESDAY))]
    with ThreadPoolExecutor(6) as pool:
        rounds = list(pool.map(lambda _: DOORS[door](server, auth, items), range(6)))
    for n in range(len(items)):
        answers = [results[n] for results in rounds]
        assert sorted(a.status for a in answers) == [200] * 5 + [201]
        assert len({(a.queue_number, a.slot) for a in answers}) == 1
    assert count_rows(database_url) == 2
