"""A central server's start on PostgreSQL with years of finished arrivals: the queue's clean-up.

Every start runs the clean-up of places decided on their application's page
(central_server.queue.stale.end_decided_places, from Database.create_all) under the migration
lock, so app servers starting together wait for it in turn. A throw-away PostgreSQL (fsync off)
gets QUEUE_START_ARRIVALS finished arrivals (default 200,000) and 6 open places, analysed;
then, with the partial index of migration 0021 (ix_arrivals_open) and again without it (dropped,
analysed: the schema before 0021), QUEUE_START_RUNS times each (default 9): the clean-up alone
in its transaction, a whole start (Database.create_all of a new engine) and four starts at once
(four threads, each its own engine: the last one's end). The first start ends the 3 decided
places; the ones measured find nothing, as a start usually does. Warm cache: the table is read
just before. Last line: {"finished_arrivals", "clean_up_ms_before", "clean_up_ms_after",
"start_ms_before", "start_ms_after", "four_starts_ms_before", "four_starts_ms_after", ...}
with medians ("before": without the index).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from central_server.db import Database  # noqa: E402
from central_server.queue.stale import end_decided_places  # noqa: E402
from tests.central.postgres import TemporaryPostgres  # noqa: E402
from tests.central.test_queue_open_index import OPEN_INDEX, seed_old_arrivals  # noqa: E402

ARRIVALS = int(os.environ.get("QUEUE_START_ARRIVALS", "200000"))
RUNS = int(os.environ.get("QUEUE_START_RUNS", "9"))
TOGETHER = 4


def start(url: str) -> None:
    """What a server does to its database when it starts."""
    db = Database(url)
    try:
        db.create_all(())
    finally:
        db.dispose()


def starts_together(url: str) -> None:
    """TOGETHER servers starting at once: returns when the last one is through."""
    gate = threading.Barrier(TOGETHER)

    def one() -> None:
        gate.wait()
        start(url)

    threads = [threading.Thread(target=one) for _ in range(TOGETHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def median_ms(action: Callable[[], object]) -> float:
    """The median time of RUNS runs of `action`, in ms."""
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 2)


def measure(db: Database, url: str) -> dict[str, float]:
    """The clean-up alone, one start, four starts together."""

    def clean_up() -> None:
        with db.engine.begin() as conn:
            assert end_decided_places(conn) == 0

    return {
        "clean_up_ms": median_ms(clean_up),
        "start_ms": median_ms(lambda: start(url)),
        "four_starts_ms": median_ms(lambda: starts_together(url)),
    }


def main() -> None:
    """Seed, measure with the index and without it, print the JSON line."""
    with TemporaryPostgres() as pg:
        url = pg.url(pg.create_database())
        db = Database(url)
        try:
            db.create_all(())
            seed_old_arrivals(db.engine, ARRIVALS)
            start(url)  # ends the decided open places (the measured starts find none)
            after = measure(db, url)
            with db.engine.begin() as conn:
                conn.execute(text(f"DROP INDEX {OPEN_INDEX}"))  # the schema before 0021
                conn.execute(text("ANALYZE arrivals"))
            before = measure(db, url)
        finally:
            db.dispose()
    figures: dict[str, object] = {"finished_arrivals": ARRIVALS}
    for key in after:
        stem = key.removesuffix("_ms")
        figures[f"{stem}_ms_before"], figures[f"{stem}_ms_after"] = before[key], after[key]
    figures.update(runs=RUNS, servers_together=TOGETHER, cpus=os.cpu_count())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
