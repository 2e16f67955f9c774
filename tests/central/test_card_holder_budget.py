"""A kiosk's card-holder look-ups are budgeted whatever the NIK, audited with the NIK masked, and
a kiosk over its budget shows on the fleet dashboard: two app servers on one database (SQLite
and PostgreSQL) grant one budget."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from central_server.card_holder_audit import ALERT_CODE
from central_server.card_holder_gate import BUDGET_CODE
from central_server.config import LimitSettings, load_central_config
from central_server.embedded import EmbeddedServer, start_embedded
from central_server.runtime import build_app
from tests.central.conftest import ADMIN_TOKEN, TODAY
from tests.central.fleet.helpers import STAFF, beat, enrol, kiosks
from tests.central.test_central_config import write

BUDGET = 4
# A refill too slow to matter during a test: 4 per 10 hours
LIMITS = LimitSettings(kiosk_lookups_per_window=BUDGET, kiosk_lookup_window_minutes=600)
LISTS = "/api/v1/card-holder/applications"
RESERVE = "/api/v1/print-codes/reserve"


def nik(n: int) -> str:
    """The n-th of a walk through NIKs (what a stolen token would try)."""
    return f"3517014501{n:06d}"


@pytest.fixture
def servers(database_url: str) -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    """Two app servers on one database, as behind nginx in production."""
    with ExitStack() as stack:
        pair = tuple(
            stack.enter_context(
                start_embedded(
                    database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, limits=LIMITS
                )
            )
            for _ in range(2)
        )
        yield pair[0], pair[1]


def ask(server: EmbeddedServer, kiosk: dict[str, str], n: int) -> requests.Response:
    """Even n: the NIK's applications; odd n: a print reservation with a wrong code."""
    path, body = (LISTS, {"nik": nik(n)}) if n % 2 == 0 else (RESERVE, {"nik": nik(n)})
    if path == RESERVE:
        body["code"] = "ACEF-HJKM"
    return requests.post(server.base_url + path, json=body, headers=kiosk, timeout=10)


def audit_rows(url: str) -> list[tuple[Any, ...]]:
    """The audit table as stored: (kiosk, masked NIK, kind, outcome, attempts), oldest first."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT kiosk_id, masked_nik, kind, outcome, attempts"
                    " FROM card_holder_lookups ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def test_two_app_servers_share_one_kiosk_budget_and_the_walk_is_audited(
    servers: tuple[EmbeddedServer, EmbeddedServer], database_url: str
) -> None:
    first, second = servers
    kiosk = enrol(first, "kiosk-a")
    answers = [ask((first, second)[n % 2], kiosk, n) for n in range(BUDGET + 2)]
    assert [r.status_code for r in answers] == [200, 404, 200, 404, 429, 429]
    for refused in answers[BUDGET:]:
        assert refused.json()["detail"]["code"] == BUDGET_CODE
        assert set(refused.json()["detail"]) == {"code", "message"}  # the documented Error
        assert int(refused.headers["Retry-After"]) >= 1
        assert nik(0) not in refused.text
    # Another kiosk (same address) has its own budget, on either server.
    other = enrol(second, "kiosk-b")
    assert ask(first, other, 0).status_code == 200
    rows = audit_rows(database_url)
    assert [r[3] for r in rows] == ["allowed"] * BUDGET + ["kiosk_budget"] * 2 + ["allowed"]
    assert rows[0] == ("kiosk-a", "3517********0000", "applications", "allowed", 1)
    assert rows[1][2] == "print_reserve"
    assert all("*" * 8 in r[1] for r in rows)
    stored = repr(rows)
    assert not any(nik(n) in stored for n in range(BUDGET + 2))


def test_the_nik_limit_still_holds_apart_from_the_kiosk_budget(database_url: str) -> None:
    """The kiosk's budget and the NIK's own limit are separate buckets; a refusal of one NIK is
    a rate_limited 429 as before, and another NIK still gets through."""
    limits = LimitSettings(print_lookups_per_minute=0.01, print_lookup_burst=2)
    with start_embedded(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, limits=limits
    ) as third:
        kiosk = enrol(third, "kiosk-c")
        codes = [
            requests.post(
                third.base_url + LISTS, json={"nik": nik(7)}, headers=kiosk, timeout=10
            ).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        again = requests.post(
            third.base_url + LISTS, json={"nik": nik(7)}, headers=kiosk, timeout=10
        )
        assert again.json()["detail"]["code"] == "rate_limited"
        other = requests.post(
            third.base_url + LISTS, json={"nik": nik(8)}, headers=kiosk, timeout=10
        )
        assert other.status_code == 200  # the kiosk's budget (30 by default) is not spent
    # the NIK's two refusals: one row counting them (card_holder_audit.record_refusal)
    assert [r[3:] for r in audit_rows(database_url)][-2:] == [("nik_limit", 2), ("allowed", 1)]


def test_a_kiosk_over_its_budget_shows_on_the_fleet_dashboard_in_words(
    servers: tuple[EmbeddedServer, EmbeddedServer],
) -> None:
    first, second = servers
    kiosk = enrol(first, "kiosk-a")
    quiet = enrol(first, "kiosk-q")
    assert beat(first, kiosk).status_code == 200 and beat(first, quiet).status_code == 200
    assert kiosks(first)["kiosk-a"]["colour"] == "green"
    for n in range(BUDGET + 1):
        ask(first, kiosk, n)
    assert beat(second, kiosk).status_code == 200  # a healthy heartbeat does not clear it
    fleet = kiosks(second)
    assert ALERT_CODE in fleet["kiosk-a"]["alerts"] and fleet["kiosk-a"]["colour"] == "red"
    assert ALERT_CODE not in fleet["kiosk-q"]["alerts"]
    assert set(kiosks(second, problem=ALERT_CODE)) == {"kiosk-a"}
    assert "kiosk-a" in kiosks(second, problem="any")
    history = requests.get(
        f"{second.base_url}/api/v1/fleet/alerts",
        params={"code": ALERT_CODE, "state": "open"},
        headers=STAFF,
        timeout=10,
    ).json()
    assert [(e["kiosk_id"], e["open"]) for e in history] == [("kiosk-a", True)]
    assert history[0]["text"].startswith("Anjungan melampaui batas pencarian data")
    browser = requests.Session()
    login = browser.post(
        f"{second.base_url}/fleet/login",
        data={"token": ADMIN_TOKEN},
        allow_redirects=False,
        timeout=10,
    )
    assert login.status_code == 303
    page = browser.get(f"{second.base_url}/fleet/kiosks/kiosk-a", timeout=10).text
    assert f'data-code="{ALERT_CODE}"' in page
    assert "Anjungan melampaui batas pencarian data pemegang kartu (NIK)" in page
    assert 'id="lookup-refusals" data-count="1"' in page and "ditolak 1 kali" in page
    calm = browser.get(f"{second.base_url}/fleet/kiosks/kiosk-q", timeout=10).text
    assert ALERT_CODE not in calm and "lookup-refusals" not in calm


def test_the_budget_comes_from_central_toml(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        f"""
[server]
database_url = "sqlite:///{tmp_path / "c.db"}"
open_enrolment = true
background_loops = false

[notify.file]
directory = "{tmp_path / "messages"}"

[limits]
kiosk_lookups_per_window = 2
kiosk_lookup_window_minutes = 600
""",
    )
    app = build_app(load_central_config(config))
    with EmbeddedServer(app, "127.0.0.1", 0).start() as server:
        r = requests.post(
            f"{server.base_url}/api/v1/kiosks",
            json={"kiosk_id": "kiosk-t", "office_code": "3517", "name": "Lobi"},
            timeout=10,
        )
        kiosk = {"Authorization": f"Bearer {r.json()['token']}"}
        codes = [ask(server, kiosk, 2 * n).status_code for n in range(3)]
        assert codes == [200, 200, 429]
