"""Shared helpers of the fleet tests: enrolment, heartbeat bodies, staff headers, commands."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient
from kiosk_app.services.command_record import FILE_NAME
from kiosk_app.services.health import HealthReporter
from tests.central.conftest import ADMIN_TOKEN, OFFICE
from tests.services.faultproxy import FaultProxy

STAFF = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
GIB = 1 << 30
KIOSK = "kiosk-01"


def enrol(
    server: EmbeddedServer | str, kiosk_id: str, office: str = OFFICE, **fields: Any
) -> dict[str, str]:
    """Enrol a kiosk with a fresh one-time code (`fields` go into the enrolment body, e.g. its
    signing_key); return its auth header. `server`: a running server or its base URL."""
    base_url = server if isinstance(server, str) else server.base_url
    code = requests.post(
        f"{base_url}/api/v1/enrolment-codes",
        json={"office_code": office, "kiosk_id": kiosk_id},
        headers=STAFF,
        timeout=10,
    )
    assert code.status_code == 201, code.text
    r = requests.post(
        f"{base_url}/api/v1/kiosks",
        json={
            "kiosk_id": kiosk_id,
            "office_code": office,
            "name": f"Anjungan {kiosk_id}",
            "enrolment_code": code.json()["code"],
            **fields,
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def heartbeat_body(**over: Any) -> dict[str, Any]:
    """A healthy kiosk's heartbeat; keyword arguments override fields."""
    body: dict[str, Any] = {
        "app_version": "0.1.0",
        "uptime_s": 3600.0,
        "disk_free_bytes": 40 * GIB,
        "disk_total_bytes": 64 * GIB,
        "cpu_temp_c": 48.5,
        "last_transaction_at": "2026-11-19T03:15:00+00:00",
        "outbox_depth": 0,
        "devices": {
            "card_reader": {"state": "ready", "driver": "simulated"},
            "ticket_printer": {"state": "online", "paper": "ok"},
            "document_printer": {"state": "online", "paper": "ok"},
            "scanner": {"state": "ready"},
        },
    }
    return body | over


def beat(server: EmbeddedServer, auth: dict[str, str], **over: Any) -> requests.Response:
    """POST one heartbeat."""
    return requests.post(
        f"{server.base_url}/api/v1/fleet/heartbeat",
        json=heartbeat_body(**over),
        headers=auth,
        timeout=10,
    )


def kiosks(server: EmbeddedServer, **params: str) -> dict[str, dict[str, Any]]:
    """GET the fleet list as {kiosk_id: health}."""
    r = requests.get(
        f"{server.base_url}/api/v1/fleet/kiosks", params=params, headers=STAFF, timeout=10
    )
    assert r.status_code == 200, r.text
    return {k["kiosk_id"]: k for k in r.json()}


class Technician:
    """A technician logged in to the fleet dashboard, posting its forms with their CSRF."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()
        r = self.http.post(f"{base_url}/fleet/login", data={"token": token}, timeout=10)
        assert r.status_code == 200, r.text

    def page(self, kiosk_id: str) -> str:
        return self.http.get(f"{self.base_url}/fleet/kiosks/{kiosk_id}", timeout=10).text

    def decide(self, kiosk_id: str, decision: str) -> requests.Response:
        """Approve or reject the kiosk's one pending seal key, confirming when asked."""
        page = self.page(kiosk_id)
        [csrf] = set(re.findall(r'name="csrf" value="([^"]+)"', page))
        [key_id] = re.findall(r'id="key-pending-(\d+)"', page)
        action = f"{self.base_url}/fleet/kiosks/{kiosk_id}/signing-keys/{key_id}/{decision}"
        asked = self.http.post(action, data={"csrf": csrf}, timeout=10)
        assert asked.status_code == 200 and 'id="confirm-key"' in asked.text  # confirm first
        return self.http.post(action, data={"csrf": csrf, "confirmed": "1"}, timeout=10)


def queue(server: EmbeddedServer, kind: str, kiosk_id: str = KIOSK) -> int:
    """Queue a command for the kiosk as a technician; its id."""
    r = requests.post(
        f"{server.base_url}/api/v1/fleet/kiosks/{kiosk_id}/commands",
        json={"kind": kind},
        headers=STAFF,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def answer(server: EmbeddedServer, auth: dict[str, str], cid: int, detail: str) -> None:
    """The kiosk (`auth`) reports the command done."""
    r = requests.post(
        f"{server.base_url}/api/v1/fleet/commands/{cid}/result",
        json={"ok": True, "detail": detail},
        headers=auth,
        timeout=10,
    )
    assert r.status_code == 204, r.text


def command(server: EmbeddedServer, cid: int) -> dict[str, object]:
    """A command's status as the fleet API shows it."""
    r = requests.get(f"{server.base_url}/api/v1/fleet/commands/{cid}", headers=STAFF, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def status_on_page(server: EmbeddedServer, cid: int, kiosk_id: str = KIOSK) -> str:
    """The command's row on the kiosk's dashboard page."""
    page = Technician(server.base_url, ADMIN_TOKEN).page(kiosk_id)
    start = page.index(f'data-id="{cid}"')
    return page[start : page.index("</tr>", start)]


@dataclass
class KioskRig:
    """One kiosk's data directory, reaching the server through a fault proxy; each
    `reporter()` is its app (re)starting: a new health reporter on the same directory."""

    proxy: FaultProxy
    data_dir: Path
    token: str | None = None
    running: list[HealthReporter] = field(default_factory=list)

    def reporter(self, **fields: Any) -> HealthReporter:
        """A health reporter of the kiosk (enrolled on the first), without devices."""
        central = CentralClient(self.proxy.base_url, KIOSK, OFFICE, token=self.token, timeout=10)
        if self.token is None:
            central.register("Lobi")
            self.token = central.token
        health = HealthReporter(
            central=central, devices={}, app_version="0.2.0", data_dir=self.data_dir, **fields
        )
        self.running.append(health)
        return health

    def close(self) -> None:
        """Close every reporter's connection and the proxy."""
        for health in self.running:
            health.central.close()
        self.running.clear()


Rig = TypeVar("Rig", bound=KioskRig)


def kiosk_rig(kind: type[Rig], server: EmbeddedServer, tmp_path: Path) -> Iterator[Rig]:
    """A fixture's body: a `kind` rig on a fresh data directory, closed after the test."""
    (tmp_path / "kiosk").mkdir()
    proxy = FaultProxy(server.port)
    rig = kind(proxy, tmp_path / "kiosk")
    try:
        yield rig
    finally:
        rig.close()
        proxy.close()


# Another kiosk app process on the same data directory: its command record, told by a line on
# stdin to start a command (and to run and report it, with "ran"), says "ok" after each step.
OTHER_PROCESS = """
import sys
from pathlib import Path
from kiosk_app.services.command_record import CommandRecord
record = CommandRecord(Path(sys.argv[1]))
print("ok", flush=True)
for line in sys.stdin:
    step, number = line.split()
    cid = int(number)
    if step == "start":
        record.start(cid, "print_test_ticket")
    else:
        record.ran(cid, True, "ran " + "x" * 1500)
        record.reported(cid)
    print("ok", flush=True)
"""


def other_process(data_dir: Path) -> subprocess.Popen[str]:
    """A second kiosk app process's command record on `data_dir`, started."""
    child = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(data_dir / FILE_NAME)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdout.readline() == "ok\n"
    return child


def tell(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()
    assert child.stdout.readline() == "ok\n"
