"""A kiosk's card-holder budget counts citizens, not requests, and its refused attempts are
counted in one row per window rather than one row each: two app servers on one database
(SQLite and PostgreSQL), asked at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from central_server.card_holder_gate import BUDGET_CODE
from central_server.config import LimitSettings
from central_server.embedded import EmbeddedServer, start_embedded
from tests.central.conftest import ADMIN_TOKEN, TODAY
from tests.central.fleet.helpers import enrol
from tests.central.test_card_holder_budget import BUDGET, LISTS, audit_rows, nik, servers

__all__ = ["servers"]  # the fixture: two app servers on one database
Pair = tuple[EmbeddedServer, EmbeddedServer]


def look_up(server: EmbeddedServer, kiosk: dict[str, str], n: int) -> requests.Response:
    """The n-th NIK's applications."""
    return requests.post(server.base_url + LISTS, json={"nik": nik(n)}, headers=kiosk, timeout=10)


def at_once(calls: list[tuple[EmbeddedServer, dict[str, str], int]]) -> list[int]:
    """Each (server, kiosk, n) look-up from its own thread; the status codes in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [r.status_code for r in pool.map(lambda c: look_up(*c), calls)]


def test_a_citizen_asked_again_costs_the_kiosk_nothing(servers: Pair) -> None:
    """A grandmother whose status is checked again and again is one citizen of the budget;
    new NIKs spend it, and she is still answered when it is spent."""
    first, second = servers
    kiosk = enrol(first, "kiosk-a")
    grandmother = [look_up((first, second)[i % 2], kiosk, 0) for i in range(BUDGET + 3)]
    assert [r.status_code for r in grandmother] == [200] * (BUDGET + 3)  # was 429 at BUDGET+1
    walk = [look_up(first, kiosk, n).status_code for n in range(1, BUDGET + 1)]
    assert walk == [200] * (BUDGET - 1) + [429]
    refused = look_up(second, kiosk, BUDGET + 5)
    assert refused.status_code == 429 and refused.json()["detail"]["code"] == BUDGET_CODE
    assert "citizens" in refused.json()["detail"]["message"]
    assert look_up(second, kiosk, 0).status_code == 200  # already counted in this window


def test_citizens_asked_at_once_are_each_counted_once(servers: Pair, database_url: str) -> None:
    """BUDGET citizens, each asked three times at once through both servers: every request is
    answered (the kiosk's bucket row is locked while the NIK is looked for and recorded), and
    the next citizen is refused."""
    first, second = servers
    kiosk = enrol(first, "kiosk-a")
    calls = [((first, second)[i % 2], kiosk, n) for n in range(BUDGET) for i in range(3)]
    assert at_once(calls) == [200] * len(calls)
    assert look_up(second, kiosk, BUDGET).status_code == 429
    assert len(audit_rows_of(database_url, "allowed")) == 3 * BUDGET


def audit_rows_of(url: str, outcome: str) -> list[tuple[object, ...]]:
    """The audit rows with this outcome."""
    return [r for r in audit_rows(url) if r[3] == outcome]


def test_a_script_hammering_a_kiosk_token_leaves_one_counting_row(
    servers: Pair, database_url: str
) -> None:
    """Refused attempts, at once through both servers, add to one row per kiosk and window
    (not one row each), counting every one."""
    first, second = servers
    kiosk = enrol(first, "kiosk-a")
    assert [look_up(first, kiosk, n).status_code for n in range(BUDGET)] == [200] * BUDGET
    hammering = 24
    calls = [((first, second)[n % 2], kiosk, 100 + n) for n in range(hammering)]
    assert at_once(calls) == [429] * hammering
    refusals = audit_rows_of(database_url, "kiosk_budget")
    # One row, or two should the test straddle the boundary of a (10-hour) budget window.
    assert 1 <= len(refusals) <= 2, refusals
    assert sum(int(str(r[4])) for r in refusals) == hammering
    assert len(audit_rows_of(database_url, "allowed")) == BUDGET


def test_one_nik_hammered_past_its_own_limit_leaves_one_counting_row(database_url: str) -> None:
    """The same NIK asked on and on is free for the kiosk's budget and stopped by the NIK's
    own limit; its refusals are one row for that NIK (found by its keyed hash)."""
    limits = LimitSettings(print_lookups_per_minute=0.01, print_lookup_burst=2)
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, limits=limits
    ) as server:
        kiosk = enrol(server, "kiosk-n")
        codes = [look_up(server, kiosk, 9).status_code for _ in range(12)]
        assert codes == [200, 200] + [429] * 10
    refusals = [r for r in audit_rows(database_url) if r[0] == "kiosk-n" and r[3] == "nik_limit"]
    # One row, or two should the test straddle the boundary of a (10-minute) budget window.
    assert 1 <= len(refusals) <= 2, refusals
    assert sum(int(str(r[4])) for r in refusals) == 10
    assert {r[1] for r in refusals} == {"3517********0009"}
