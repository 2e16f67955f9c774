"""Outbox figures: cost of one durable enqueue, and submissions/s drained after an outage.

Starts the reference central server in a child process (SQLite), queues N submissions while
it is unreachable, then lets the kiosk's sender drain them. Last line: one JSON object.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from central_server.sidecar import SidecarServer  # noqa: E402
from kiosk_app.central import CentralClient  # noqa: E402
from kiosk_app.services.outbox import Outbox, Submission  # noqa: E402
from kiosk_app.services.outbox_sender import Backoff, OutboxSender  # noqa: E402

COUNT = int(os.environ.get("OUTBOX_BENCH_COUNT", "1000"))
SERVICE = "akta_kelahiran"


def main() -> None:
    """Run the benchmark and print its JSON line."""
    work = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    server = SidecarServer(f"sqlite:///{work / 'central.db'}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{server.base_url}/health", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        with sqlite3.connect(work / "central.db", timeout=10) as conn:
            conn.execute("INSERT OR REPLACE INTO quotas VALUES ('3517', ?, 300)", (SERVICE,))
        central = CentralClient(server.base_url, "KIOSK-BENCH-01", "3517", timeout=10)
        central.register("benchmark kiosk")
        slots = [a.slot for a in central.slots(SERVICE, 14) for _ in range(a.remaining)]
        box = Outbox(work / "outbox.db", os.urandom(32), "KIOSK-BENCH-01")
        enqueue_ms = []
        for n in range(COUNT):  # the outage: everything is queued
            item = Submission(SERVICE, "3517084506870001", "WARGA BENCHMARK",
                              {"child_name": f"ANAK {n}"}, slots[n % len(slots)],
                              "2026-01-05T09:00:00+07:00")
            started = time.perf_counter()
            box.enqueue(item)
            enqueue_ms.append((time.perf_counter() - started) * 1000)
        sender = OutboxSender(box, central, backoff=Backoff(base_s=0.05, cap_s=0.5), workers=8)
        started = time.perf_counter()
        sent = 0
        while box.depth() and time.perf_counter() - started < 300:
            sent += sender.drain_once()
        elapsed = time.perf_counter() - started
        figures = {
            "drain_per_s": round(sent / elapsed, 1),
            "enqueue_ms": round(statistics.mean(enqueue_ms), 2),
            "enqueue_p95_ms": round(statistics.quantiles(enqueue_ms, n=20)[-1], 2),
            "count": COUNT,
            "sent": sent,
            "cpus": os.cpu_count(),
        }
        box.close()
        central.close()
    finally:
        server.stop()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
