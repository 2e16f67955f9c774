"""Alert history over HTTP: alerts raised and cleared with their times, per kiosk, filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from central_server.embedded import EmbeddedServer
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import GIB, STAFF, beat, enrol
from tests.central.fleet.test_fleet_api import age_kiosk

PAPER_OUT = {
    "card_reader": {"state": "ready"},
    "ticket_printer": {"state": "paper_out", "paper": "out"},
}


def history(server: EmbeddedServer, **params: str) -> list[dict[str, Any]]:
    r = requests.get(
        f"{server.base_url}/api/v1/fleet/alerts", params=params, headers=STAFF, timeout=10
    )
    assert r.status_code == 200, r.text
    return r.json()


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_alerts_are_kept_after_they_clear_with_their_times(server: EmbeddedServer) -> None:
    auth = enrol(server, "kiosk-h1")
    before = datetime.now(UTC)
    assert beat(server, auth, devices=PAPER_OUT, outbox_depth=25).status_code == 200
    assert beat(server, auth, devices=PAPER_OUT, outbox_depth=25).status_code == 200
    events = history(server, kiosk_id="kiosk-h1")
    assert sorted(e["code"] for e in events) == ["outbox_backlog", "paper_out"]  # not doubled
    assert all(e["open"] and e["cleared_at"] is None for e in events)
    assert all(when(e["raised_at"]) >= before - timedelta(seconds=1) for e in events)
    paper = next(e for e in events if e["code"] == "paper_out")
    assert paper["severity"] == "critical"
    assert paper["text"] == "Kertas printer tiket habis / Ticket printer out of paper"

    beat(server, auth, outbox_depth=25)  # paper refilled, backlog still there
    events = {e["code"]: e for e in history(server, kiosk_id="kiosk-h1")}
    assert not events["paper_out"]["open"]
    assert when(events["paper_out"]["cleared_at"]) >= when(events["paper_out"]["raised_at"])
    assert events["outbox_backlog"]["open"]
    beat(server, auth)  # all well
    beat(server, auth, devices=PAPER_OUT)  # paper out again: a second, separate alert
    paper_rows = history(server, kiosk_id="kiosk-h1", code="paper_out")
    assert [e["open"] for e in paper_rows] == [True, False]  # newest first
    assert [e["code"] for e in history(server, kiosk_id="kiosk-h1", state="open")] == ["paper_out"]
    assert {e["code"] for e in history(server, kiosk_id="kiosk-h1", state="cleared")} == {
        "paper_out",
        "outbox_backlog",
    }


def test_filters_by_kiosk_office_code_and_state(server: EmbeddedServer) -> None:
    a = enrol(server, "kiosk-f1")
    b = enrol(server, "kiosk-f2")
    beat(server, a, disk_free_bytes=GIB // 2)
    beat(server, b, devices={"card_reader": {"state": "unavailable"}})
    assert {e["kiosk_id"] for e in history(server)} == {"kiosk-f1", "kiosk-f2"}
    assert {e["kiosk_id"] for e in history(server, office="3517")} == {"kiosk-f1", "kiosk-f2"}
    assert history(server, office="3578") == []  # another office's kiosks only
    assert [e["kiosk_id"] for e in history(server, code="disk_low")] == ["kiosk-f1"]
    assert history(server, kiosk_id="kiosk-f2", code="disk_low") == []
    assert len(history(server, limit="1")) == 1
    for bad in ({"code": "nonsense"}, {"state": "closed"}, {"office": "35"}, {"limit": "0"}):
        r = requests.get(
            f"{server.base_url}/api/v1/fleet/alerts", params=bad, headers=STAFF, timeout=10
        )
        assert r.status_code == 422, bad
    assert requests.get(f"{server.base_url}/api/v1/fleet/alerts", timeout=10).status_code == 401
    kiosk = requests.get(f"{server.base_url}/api/v1/fleet/alerts", headers=a, timeout=10)
    assert kiosk.status_code in (401, 403)  # a kiosk cannot read the fleet's history


def test_offline_spells_are_recorded_when_the_kiosk_returns(
    server: EmbeddedServer, database_url: str
) -> None:
    auth = enrol(server, "kiosk-o1")
    beat(server, auth)
    age_kiosk(database_url, "kiosk-o1", timedelta(minutes=40))
    silent = history(server, kiosk_id="kiosk-o1")  # silent now: an open spell at read time
    assert [(e["code"], e["open"]) for e in silent] == [("offline_too_long", True)]
    started = when(silent[0]["raised_at"])
    assert timedelta(minutes=24) < datetime.now(UTC) - started < timedelta(minutes=26)
    beat(server, auth)  # back: the spell is closed and kept
    events = history(server, kiosk_id="kiosk-o1")
    assert [(e["code"], e["open"]) for e in events] == [("offline_too_long", False)]
    assert abs((when(events[0]["raised_at"]) - started).total_seconds()) < 5
    assert when(events[0]["cleared_at"]) > when(events[0]["raised_at"])
    assert history(server, kiosk_id="kiosk-o1", state="open") == []


def test_dashboard_page_lists_history_per_kiosk_with_filters(server: EmbeddedServer) -> None:
    auth = enrol(server, "kiosk-p1")
    other = enrol(server, "kiosk-p2")
    beat(server, auth, devices=PAPER_OUT)
    beat(server, auth)
    beat(server, other, disk_free_bytes=GIB // 2)
    browser = requests.Session()
    assert (
        browser.get(
            f"{server.base_url}/fleet/alerts", timeout=10, allow_redirects=False
        ).status_code
        == 303
    )  # log in first
    login = browser.post(
        f"{server.base_url}/fleet/login",
        data={"token": ADMIN_TOKEN},
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code == 303
    page = browser.get(
        f"{server.base_url}/fleet/alerts", params={"kiosk_id": "kiosk-p1"}, timeout=10
    )
    assert page.status_code == 200
    assert 'data-kiosk="kiosk-p1" data-code="paper_out" data-state="cleared"' in page.text
    assert "kiosk-p2" not in page.text.split('id="alert-history"')[1]
    page = browser.get(f"{server.base_url}/fleet/alerts", params={"state": "open"}, timeout=10)
    assert 'data-code="disk_low" data-state="open"' in page.text
    assert 'data-code="paper_out"' not in page.text.split('id="alert-history"')[1]
    junk = browser.get(f"{server.base_url}/fleet/alerts", params={"code": "<script>"}, timeout=10)
    assert junk.status_code == 200 and "<script>" not in junk.text
    kiosk_page = browser.get(f"{server.base_url}/fleet/kiosks/kiosk-p1", timeout=10)
    assert "/fleet/alerts?kiosk_id=kiosk-p1" in kiosk_page.text
