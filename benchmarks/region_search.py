"""Search-as-you-type time of the region picker over the whole country (~83,000 villages).

Imports the country-sized edition (default ../shared/data/wilayah, or BENCH_WILAYAH) into a
temporary central server with the real importer, lets a kiosk RegionCache download it over HTTP
on loopback, then types village names key by key (every prefix is one query, as the picker
searches on every key) and times each search. Target: under 50 ms per query.
Last line: {"region_search_ms": median, "region_search_p95_ms": .., "villages": .., ...}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "wilayah"
NAMES = int(os.environ.get("BENCH_REGION_NAMES", "300"))  # village names typed in full


def load_country_cache(data_dir: Path, work_dir: Path) -> tuple[Any, dict[str, float]]:
    """Import `data_dir` into a fresh central server and download it into a kiosk cache."""
    from central_server.db import Database
    from central_server.embedded import start_embedded
    from central_server.regions import import_edition
    from kiosk_app.central import CentralClient
    from kiosk_app.services.regions import RegionCache

    url = f"sqlite:///{work_dir / 'central.db'}"
    timings: dict[str, float] = {}
    db = Database(url)
    try:
        db.create_all(())
        started = time.perf_counter()
        import_edition(db, data_dir)
        timings["import_s"] = time.perf_counter() - started
    finally:
        db.dispose()
    with start_embedded(url, open_enrolment=True) as server:
        client = CentralClient(server.base_url, "KIOSK-BENCH", "3517", enrol_as="bench", timeout=60)
        cache = RegionCache(client, work_dir / "kiosk")
        started = time.perf_counter()
        outcome = cache.refresh()
        timings["download_and_index_s"] = time.perf_counter() - started
        client.close()
    if outcome != "updated":
        raise RuntimeError(f"region download failed: {outcome}")
    started = time.perf_counter()
    RegionCache(None, work_dir / "kiosk").load()  # a kiosk restart: read the cached file
    timings["cold_load_s"] = time.perf_counter() - started
    return cache, timings


def typed_queries(cache: Any, names: int = NAMES) -> list[str]:
    """Every prefix of `names` village names spread over the country, as typed key by key."""
    villages = cache.tree.codes_at(4)
    step = max(1, len(villages) // max(1, names))
    queries: list[str] = []
    for code in villages[::step][:names]:
        name = cache.name(code).upper()
        queries.extend(name[:i] for i in range(1, len(name) + 1) if not name[i - 1].isspace())
    return queries


def time_searches(cache: Any, queries: list[str], level: int = 4) -> dict[str, float]:
    """Median, p95 and max milliseconds of `cache.search` over `queries` (reusable from ui.py)."""
    times = []
    for query in queries:
        started = time.perf_counter()
        cache.search(query, level=level)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "region_search_ms": round(statistics.median(times), 3),
        "region_search_p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
        "region_search_max_ms": round(times[-1], 3),
        "queries": len(times),
    }


def measure(data_dir: Path = DEFAULT_DATA) -> dict[str, Any]:
    """The whole benchmark: import, download, then time typed searches."""
    with tempfile.TemporaryDirectory(prefix="anjungan-regions-") as work:
        cache, timings = load_country_cache(Path(data_dir), Path(work))
        result: dict[str, Any] = time_searches(cache, typed_queries(cache))
        result["villages"] = len(cache.tree.codes_at(4))
        result.update({k: round(v, 2) for k, v in timings.items()})
        result["target_ms"] = 50
        return result


def main() -> int:
    """Run and print one JSON line last."""
    data_dir = Path(os.environ.get("BENCH_WILAYAH", str(DEFAULT_DATA)))
    if not (data_dir / "villages.csv").is_file():
        print(json.dumps({"error": f"no region edition at {data_dir}"}))
        return 1
    print(json.dumps(measure(data_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
