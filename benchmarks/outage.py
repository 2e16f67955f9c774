"""Outage figures: a fleet of kiosks serving citizens through a central-server outage.

Starts the reference central server as a real process (SQLite) behind the fault proxy and
KIOSKS kiosks, each its own process (the real composition root each: own data dir, outbox,
leases, signing key, simulated devices) talking HTTP to it. A few online visits first (the
leases follow that use), then the network is cut AND the server process killed for
OFFLINE_VISITS random visits per kiosk, during which KILLED kiosks are SIGKILLed mid-visit and
restarted on their data dirs; then a new server process starts on the same data and the proxy
forwards again.

Counts: offline_confirmed (tickets booked offline whose application the server then holds on
the ticket's date and window), overbooked (places past a slot's quota), lost (tickets with no
application, or on another slot), duplicates (an application twice), turned_away (visits the
kiosk could offer no slot during the outage), reconcile_s (from the server's return to every
outbox empty), lease_utilisation (bookings during the outage / places of that service the
fleet held when the outage began), seals_valid (offline tickets whose QR the server's public
page calls genuine), kiosk_restarts (kiosks SIGKILLed and restarted), unticketed (applications whose
ticket a kill cut short; at most one per restart).
Last line: one JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.services.leases.outage_rig import (
    SERVICE,
    FleetKiosk,
    forge,
    leases_held,
    ledger,
    outage_fleet,
    renew,
    run_visits,
    seal_status,
)

KIOSKS = int(os.environ.get("OUTAGE_BENCH_KIOSKS", "10"))
ONLINE_VISITS = int(os.environ.get("OUTAGE_BENCH_ONLINE", "2"))
OFFLINE_VISITS = int(os.environ.get("OUTAGE_BENCH_OFFLINE", "11"))
DAILY_QUOTA = int(os.environ.get("OUTAGE_BENCH_QUOTA", "60"))
KILLED = [0, KIOSKS // 2] if KIOSKS > 1 else [0]  # SIGKILLed mid-visit during the outage
SEED = 16


def held(fleet: list[FleetKiosk]) -> int:
    """Places of the booked service the fleet can book from its leases."""
    return sum(leases_held(item, SERVICE) for item in fleet)


def main() -> None:
    """Run the outage; print the figures."""
    logging.basicConfig(level=logging.ERROR)  # the outage's expected warnings stay quiet
    with tempfile.TemporaryDirectory(prefix="anjungan-outage-") as tmp:
        work = Path(tmp)
        db = f"sqlite:///{work / 'central.db'}"
        with outage_fleet(work, db, DAILY_QUOTA, KIOSKS, 120) as scene:
            fleet = scene.fleet
            run_visits(fleet, ONLINE_VISITS, SEED)
            online_turned_away = sum(k.turned_away for k in fleet)
            online = {b for k in fleet for b in k.bookings}
            renew(fleet)  # after that use, as the keeper does every round
            places = held(fleet)

            scene.cut()
            started = time.perf_counter()
            run_visits(fleet, OFFLINE_VISITS, SEED + 1, kill=KILLED, kill_after=OFFLINE_VISITS // 2)
            outage_s = time.perf_counter() - started
            turned_away = sum(k.turned_away for k in fleet) - online_turned_away
            offline = [b for k in fleet for b in k.bookings if b.offline]
            # (an online visit the busy server answered past the kiosk's 3 s try is offline too)
            outage = [b for k in fleet for b in k.bookings if b not in online]

            reconcile_s = scene.restore(300)
            server = scene.server

            found = ledger(db, fleet, DAILY_QUOTA)
            valid = sum(seal_status(server.base_url, b.qr) == "valid" for b in offline)
            forged = seal_status(server.base_url, forge(offline[0].qr)) if offline else "-"
    print(
        f"{KIOSKS} kiosks, {len(outage)} bookings in {outage_s:.1f} s of outage, "
        f"{len(offline)} offline in all; "
        f"reconciled {reconcile_s:.2f} s after the server's return",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "kiosks": KIOSKS,
                "offline_confirmed": found.offline - found.lost,
                "overbooked": found.overbooked,
                "lost": found.lost,
                "duplicates": found.duplicates,
                "turned_away": turned_away,
                "reconcile_s": round(reconcile_s, 2),
                "lease_utilisation": round(len(outage) / places, 3) if places else 0.0,
                "seals_valid": valid,
                "forged_seal": forged,
                "failed": sum(len(k.failed) for k in fleet),
                "kiosk_restarts": sum(k.restarts for k in fleet),
                "unticketed": found.unticketed,
            }
        )
    )


if __name__ == "__main__":
    main()
