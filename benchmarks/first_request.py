"""The first requests an app server answers, against the same requests answered again.

Each run builds a fresh app (create_app on a new SQLite file), serves it with uvicorn on
loopback (central_server.embedded) and times, over one kept-alive connection, a request to each
area in route order (public /health, the fleet API, the kiosk API; without credentials: 401),
then the same three again. FastAPI builds an included router's route handlers on the first
request that reaches it; central_server.app.build_routes does it in create_app instead. Last
line: {"first_ms", "again_ms", "create_app_ms", ...} with medians (sums over the three).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))
RUNS = int(os.environ.get("FIRST_REQUEST_RUNS", "7"))
PATHS = ("/health", "/api/v1/fleet/kiosks", "/api/v1/slots")


def main() -> None:
    """RUNS fresh servers; print one JSON line of medians."""
    import requests

    from central_server.app import create_app
    from central_server.embedded import EmbeddedServer

    first, again, created = [], [], []
    for run in range(RUNS):
        folder = Path(tempfile.mkdtemp(prefix="bench-first-request-"))
        start = time.perf_counter()
        app = create_app(
            f"sqlite:///{folder / 'central.db'}",
            admin_token="bench-admin-token-0123456789",
            background_loops=False,
        )
        created.append((time.perf_counter() - start) * 1000)
        with EmbeddedServer(app, "127.0.0.1", 0).start() as server, requests.Session() as http:
            http.get(server.base_url + "/static/", timeout=10)  # the connection, not a route
            rounds = []
            for _ in range(2):
                start = time.perf_counter()
                codes = [http.get(server.base_url + p, timeout=10).status_code for p in PATHS]
                rounds.append((time.perf_counter() - start) * 1000)
                assert 500 not in codes, (run, codes)
        first.append(rounds[0])
        again.append(rounds[1])
    print(
        json.dumps(
            {
                "runs": RUNS,
                "paths": list(PATHS),
                "first_ms": round(statistics.median(first), 1),
                "again_ms": round(statistics.median(again), 1),
                "create_app_ms": round(statistics.median(created), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
