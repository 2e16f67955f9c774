"""Outbox figures: cost of one durable enqueue, and submissions/s drained after an outage.

Starts the reference central server in a child process (SQLite), queues N submissions while
it is unreachable, then lets the kiosk's sender drain them: in batches (POST
/api/v1/applications/batch, one commit per batch on each side: the sender's normal path) and,
for comparison, one request per row (what the sender did before, and still does for rows with
scans or against a server without the batch endpoint). Last line: one JSON object.
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

sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from central_server.sidecar import SidecarServer
from kiosk_app.central import CentralClient
from kiosk_app.services.outbox.records import Submission
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox

COUNT = int(os.environ.get("OUTBOX_BENCH_COUNT", "1000"))
SINGLE_COUNT = int(os.environ.get("OUTBOX_BENCH_SINGLE_COUNT", "300"))
SERVICE = "akta_kelahiran"


def start(work: Path) -> SidecarServer:
    """A central server with the maximum daily quota, answering /health."""
    server = SidecarServer(f"sqlite:///{work / 'central.db'}")
    server.wait_healthy(60)
    with sqlite3.connect(work / "central.db", timeout=10) as conn:
        conn.execute("INSERT OR REPLACE INTO quotas VALUES ('3517', ?, 300)", (SERVICE,))
    return server


def drain(work: Path, kiosk_id: str, count: int, batch: bool) -> tuple[float, list[float]]:
    """Queue `count` submissions during an outage, then drain; (per second, enqueue ms)."""
    server = start(work)
    try:
        central = CentralClient(server.base_url, kiosk_id, "3517", timeout=10)
        central.register("benchmark kiosk")
        slots = [a.slot for a in central.slots(SERVICE, 14) for _ in range(a.remaining)]
        box = Outbox(work / "outbox.db", os.urandom(32), kiosk_id)
        enqueue_ms = []
        for n in range(count):  # the outage: everything is queued
            item = Submission(
                SERVICE,
                "3517084506870001",
                "WARGA BENCHMARK",
                {"child_name": f"ANAK {n}"},
                slots[n % len(slots)],
                "2026-01-05T09:00:00+07:00",
            )
            started = time.perf_counter()
            box.enqueue(item)
            enqueue_ms.append((time.perf_counter() - started) * 1000)
        sender = OutboxSender(box, central, backoff=Backoff(base_s=0.05, cap_s=0.5), workers=8)
        sender._batch_endpoint = batch
        started = time.perf_counter()
        sent = 0
        while box.depth() and time.perf_counter() - started < 300:
            sent += sender.drain_once()
        elapsed = time.perf_counter() - started
        assert sent == count, f"sent {sent} of {count}"
        box.close()
        central.close()
    finally:
        server.stop()
    return sent / elapsed, enqueue_ms


def main() -> None:
    """Run the benchmark and print its JSON line."""
    root = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    (root / "batch").mkdir()
    (root / "single").mkdir()
    per_s, enqueue_ms = drain(root / "batch", "KIOSK-BENCH-01", COUNT, batch=True)
    single_per_s, _ = drain(root / "single", "KIOSK-BENCH-02", SINGLE_COUNT, batch=False)
    figures = {
        "drain_per_s": round(per_s, 1),
        "enqueue_ms": round(statistics.mean(enqueue_ms), 2),
        "enqueue_p95_ms": round(statistics.quantiles(enqueue_ms, n=20)[-1], 2),
        "drain_one_by_one_per_s": round(single_per_s, 1),
        "count": COUNT,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
