"""Fleet API over HTTP: heartbeats, status and alerts, filters, remote commands and results."""

from __future__ import annotations

import base64
import gzip
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import create_engine, text

from central_server.embedded import EmbeddedServer
from tests.central.conftest import ADMIN_TOKEN, count_rows
from tests.central.fleet.helpers import GIB, STAFF, beat, enrol, kiosks


def age_kiosk(database_url: str, kiosk_id: str, age: timedelta) -> None:
    """Pretend the kiosk's last heartbeat was `age` ago."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE kiosk_states SET last_seen = :t WHERE kiosk_id = :k"),
                {"t": datetime.now(UTC) - age, "k": kiosk_id},
            )
    finally:
        engine.dispose()


def test_heartbeat_stores_state_and_healthy_kiosk_is_green(
    server: EmbeddedServer, database_url: str
) -> None:
    auth = enrol(server, "kiosk-a")
    r = beat(server, auth)
    assert r.status_code == 200, r.text
    assert r.json()["commands"] == [] and r.json()["next_heartbeat_s"] == 60
    k = kiosks(server)["kiosk-a"]
    assert (k["status"], k["colour"], k["alerts"]) == ("online", "green", [])
    assert k["app_version"] == "0.1.0" and k["disk_free_pct"] == 62.5
    assert k["devices"]["ticket_printer"] == {"state": "online", "paper": "ok"}
    assert beat(server, auth, app_version="0.1.1").status_code == 200
    assert kiosks(server)["kiosk-a"]["app_version"] == "0.1.1"
    assert count_rows(database_url, "kiosk_states") == 1
    assert count_rows(database_url, "kiosk_samples") == 1  # sampled at most every 5 minutes


def test_alerts_from_devices_disk_and_outbox(server: EmbeddedServer) -> None:
    enrolled = {k: enrol(server, k) for k in ("paper", "reader", "disk", "fine")}
    devices = {
        "card_reader": {"state": "ready"},
        "ticket_printer": {"state": "paper_out", "paper": "out"},
    }
    beat(server, enrolled["paper"], devices=devices, outbox_depth=25)
    beat(server, enrolled["reader"], devices={"card_reader": {"state": "unavailable"}})
    beat(server, enrolled["disk"], disk_free_bytes=GIB // 2, cpu_temp_c=None)
    beat(server, enrolled["fine"])
    fleet = kiosks(server)
    assert fleet["paper"]["alerts"] == ["paper_out", "outbox_backlog"]
    assert fleet["paper"]["colour"] == "red"
    assert fleet["reader"]["alerts"] == ["reader_missing"]
    assert (fleet["disk"]["alerts"], fleet["disk"]["colour"]) == (["disk_low"], "amber")
    assert list(fleet)[:2] == ["paper", "reader"]  # the most troubled first
    assert set(kiosks(server, problem="paper_out")) == {"paper"}
    assert set(kiosks(server, problem="any")) == {"paper", "reader", "disk"}
    beat(
        server,
        enrolled["paper"],
        devices={"card_reader": {"state": "ready"}, "ticket_printer": {"paper": "near_end"}},
    )
    assert kiosks(server)["paper"]["alerts"] == ["paper_near_end"]


def test_offline_and_missing_from_last_seen(server: EmbeddedServer, database_url: str) -> None:
    for kiosk_id in ("a", "b", "c"):
        beat(server, enrol(server, kiosk_id))
    enrol(server, "never")
    age_kiosk(database_url, "b", timedelta(minutes=20))
    age_kiosk(database_url, "c", timedelta(days=2))
    fleet = kiosks(server)
    assert fleet["a"]["status"] == "online"
    assert (fleet["b"]["status"], fleet["b"]["alerts"]) == ("offline", ["offline_too_long"])
    assert fleet["b"]["colour"] == "red"
    assert (fleet["c"]["status"], fleet["c"]["colour"]) == ("missing", "grey")
    assert (fleet["never"]["status"], fleet["never"]["last_seen"]) == ("missing", None)
    assert set(kiosks(server, status="offline")) == {"b"}
    assert set(kiosks(server, status="missing")) == {"c", "never"}
    assert set(kiosks(server, problem="offline_too_long")) == {"b", "c", "never"}


def test_filter_by_office(server: EmbeddedServer) -> None:
    beat(server, enrol(server, "jombang"))
    assert set(kiosks(server, office="3517")) == {"jombang"}
    assert kiosks(server, office="3578") == {}
    r = requests.get(
        f"{server.base_url}/api/v1/fleet/kiosks",
        params={"problem": "nope"},
        headers=STAFF,
        timeout=10,
    )
    assert r.status_code == 422


def test_command_round_trip_with_attachment(server: EmbeddedServer) -> None:
    auth, other = enrol(server, "kiosk-a"), enrol(server, "kiosk-b")
    base = f"{server.base_url}/api/v1/fleet"
    r = requests.post(
        f"{base}/kiosks/kiosk-a/commands", json={"kind": "upload_logs"}, headers=STAFF, timeout=10
    )
    assert r.status_code == 201, r.text
    command_id = r.json()["id"]
    assert r.json()["status"] == "queued"
    assert beat(server, other).json()["commands"] == []
    [delivered] = beat(server, auth).json()["commands"]
    assert delivered["created_at"] == r.json()["created_at"]
    assert delivered | {"created_at": None} == {
        "id": command_id,
        "kind": "upload_logs",
        "args": {},
        "created_at": None,
    }
    assert beat(server, auth).json()["commands"] == []  # an older kiosk's: delivered once
    assert requests.get(f"{base}/commands/{command_id}", headers=STAFF).json()["status"] == "sent"
    result = {
        "ok": True,
        "detail": "2 files",
        "attachment_type": "application/gzip",
        "attachment_b64": base64.b64encode(gzip.compress(b"logs!")).decode(),
    }
    url = f"{base}/commands/{command_id}/result"
    assert requests.post(url, json=result, headers=other, timeout=10).status_code == 404
    assert requests.post(url, json=result, headers=auth, timeout=10).status_code == 204
    assert requests.post(url, json=result, headers=auth, timeout=10).status_code == 409
    done = requests.get(f"{base}/kiosks/kiosk-a/commands", headers=STAFF).json()[0]
    assert (done["status"], done["result_detail"], done["has_attachment"]) == (
        "done",
        "2 files",
        True,
    )
    assert done["created_by"] == "admin-token"


def test_bad_commands_and_results_are_refused(server: EmbeddedServer) -> None:
    auth = enrol(server, "kiosk-a")
    base = f"{server.base_url}/api/v1/fleet"
    r = requests.post(
        f"{base}/kiosks/kiosk-a/commands", json={"kind": "format_disk"}, headers=STAFF, timeout=10
    )
    assert r.status_code == 422
    r = requests.post(f"{base}/kiosks/ghost/commands", json={"kind": "reboot"}, headers=STAFF)
    assert r.status_code == 404
    cid = requests.post(
        f"{base}/kiosks/kiosk-a/commands", json={"kind": "screenshot"}, headers=STAFF
    ).json()["id"]
    bad = {"ok": True, "attachment_b64": "***not base64***"}
    r = requests.post(f"{base}/commands/{cid}/result", json=bad, headers=auth, timeout=10)
    assert r.status_code == 422
    assert beat(server, auth, disk_total_bytes=0).status_code == 422
    assert beat(server, auth, devices={"x" * 41: {}}).status_code == 422


def test_concurrent_heartbeats_are_batched_safely(
    server: EmbeddedServer, database_url: str
) -> None:
    auths = {f"k{i}": enrol(server, f"k{i}") for i in range(8)}
    cid = requests.post(
        f"{server.base_url}/api/v1/fleet/kiosks/k3/commands", json={"kind": "reboot"}, headers=STAFF
    ).json()["id"]

    def send(n: int) -> tuple[str, requests.Response]:
        kiosk_id = f"k{n % 8}"
        return kiosk_id, beat(server, auths[kiosk_id], outbox_depth=n)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, range(64)))
    assert all(r.status_code == 200 for _, r in answers)
    got = [c["id"] for k, r in answers for c in r.json()["commands"] if k == "k3"]
    assert got == [cid]  # delivered exactly once even when k3's heartbeats share a batch
    assert all(not r.json()["commands"] for k, r in answers if k != "k3")
    assert count_rows(database_url, "kiosk_states") == 8
    assert len(kiosks(server)) == 8


def test_held_submissions_raise_an_alert_until_they_are_handled(
    server: EmbeddedServer, database_url: str
) -> None:
    auth = enrol(server, "kiosk-h")
    assert beat(server, auth).status_code == 200  # an old kiosk: no held_submissions field
    k = kiosks(server)["kiosk-h"]
    assert (k["held_submissions"], k["alerts"], k["colour"]) == (0, [], "green")
    assert beat(server, auth, held_submissions=2).status_code == 200
    k = kiosks(server)["kiosk-h"]
    assert (k["held_submissions"], k["alerts"], k["colour"]) == (2, ["held_submissions"], "amber")
    assert set(kiosks(server, problem="held_submissions")) == {"kiosk-h"}
    assert beat(server, auth, held_submissions=-1).status_code == 422
    events = requests.get(
        f"{server.base_url}/api/v1/fleet/alerts",
        headers=STAFF,
        params={"code": "held_submissions"},
        timeout=10,
    ).json()
    assert [(e["open"], e["severity"]) for e in events] == [(True, "warning")]
    assert events[0]["text"].startswith("Kiriman tertahan menunggu petugas / Held submissions")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:  # the history sample is due again: it takes the count
            conn.execute(
                text("UPDATE kiosk_states SET history_at = :t"),
                {"t": datetime.now(UTC) - timedelta(hours=1)},
            )
        assert beat(server, auth, held_submissions=3).status_code == 200
        with engine.connect() as conn:
            sampled = (
                conn.execute(
                    text(
                        "SELECT held_submissions FROM kiosk_samples WHERE kiosk_id = 'kiosk-h'"
                        " ORDER BY at"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert sampled == [0, 3]

    staff = requests.Session()
    staff.post(f"{server.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    overview = staff.get(f"{server.base_url}/fleet/", timeout=10).text
    row = overview.split('data-kiosk="kiosk-h"')[1].split("</tr>")[0]
    assert '<td class="held alert"' in row and ">3</td>" in row
    assert "Held submissions waiting for an attendant" in overview  # the problem filter
    page = staff.get(f"{server.base_url}/fleet/kiosks/kiosk-h", timeout=10).text
    assert '<span id="held">3</span>' in page
    assert 'data-code="held_submissions">Kiriman tertahan menunggu petugas' in page

    assert beat(server, auth, held_submissions=0).status_code == 200  # the attendant handled them
    k = kiosks(server)["kiosk-h"]
    assert (k["held_submissions"], k["alerts"], k["colour"]) == (0, [], "green")
    assert kiosks(server, problem="held_submissions") == {}
    events = requests.get(
        f"{server.base_url}/api/v1/fleet/alerts",
        headers=STAFF,
        params={"code": "held_submissions"},
        timeout=10,
    ).json()
    assert [e["open"] for e in events] == [False]
    row = (
        staff.get(f"{server.base_url}/fleet/", timeout=10)
        .text.split('data-kiosk="kiosk-h"')[1]
        .split("</tr>")[0]
    )
    assert '<td class="held"' in row and ">0</td>" in row
