"""A kiosk app's health reporter as a process of its own, on real /proc and a real systemctl
(whichever is first on PATH): `python -m tests.central.fleet.kiosk_process URL TOKEN DATA_DIR
BOOT_ID_FILE [PROC]` sends one heartbeat, runs the commands it brings (a restart or reboot may
end this process there) and prints the ids of those commands as its last line; its log lines
begin with its pid. PROC: the folder read as /proc (one without files: /proc unreadable)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from kiosk_app.central import CentralClient
from kiosk_app.services.health import HealthReporter
from kiosk_app.services.system_actions import SystemdActions
from tests.central.conftest import OFFICE
from tests.central.fleet.helpers import KIOSK


def main(base_url: str, token: str, data_dir: str, boot_id: str, proc: str = "/proc") -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(process)d %(levelname)s %(message)s"
    )
    central = CentralClient(base_url, KIOSK, OFFICE, token=token, timeout=10)
    health = HealthReporter(
        central=central,
        devices={},
        app_version="0.2.0",
        data_dir=Path(data_dir),
        system=SystemdActions(timeout_s=20, proc=Path(proc), boot_id=Path(boot_id)),
    )
    commands = health.beat_once()
    print(json.dumps([c["id"] for c in commands]), flush=True)
    central.close()


if __name__ == "__main__":
    main(*sys.argv[1:6])
