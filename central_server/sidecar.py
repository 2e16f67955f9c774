"""The development kiosk's central server in a child process, so it never slows the kiosk UI.

The parent binds the listening socket itself and hands it to the child: the URL is known at once,
and requests made while the child is still importing wait in the socket's backlog. The child exits
when its stdin closes, so it never outlives the kiosk that started it.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from datetime import time as time_of_day
from pathlib import Path
from typing import Any

from central_server.config import (
    CentralConfig,
    FileChannelSettings,
    NotifySettings,
    ServerSettings,
)

STOP_TIMEOUT_S = 10.0
ROOT = Path(__file__).resolve().parents[1]
# Development only: a file holding the server's "now" (2026-11-23T08:30 WIB, or a bare date for
# 09.00 that day), read on every request, so a demo or a UI test can book today and check in on
# the verification day with the same server. Missing or empty: the real WIB time.
DEV_CLOCK_ENV = "ANJUNGAN_DEV_CLOCK"


class SidecarServer:
    """A central server running in a child process on a loopback socket bound here."""

    def __init__(self, database_url: str, host: str = "127.0.0.1") -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, 0))
        listener.listen(128)
        self.host, self.port = host, listener.getsockname()[1]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "central_server.sidecar", "--fd", str(listener.fileno())]
        self._process = subprocess.Popen(
            [*command, "--db", database_url],
            stdin=subprocess.PIPE,
            pass_fds=[listener.fileno()],
            env=env,
        )
        listener.close()  # the child holds the socket now

    @property
    def base_url(self) -> str:
        """URL of the server, e.g. http://127.0.0.1:43121."""
        return f"http://{self.host}:{self.port}"

    def wait_healthy(self, timeout_s: float = 60.0) -> None:
        """Return once /health answers; after `timeout_s`, stop the child and raise the error."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with opener.open(f"{self.base_url}/health", timeout=5):
                    return
            except OSError:  # refused, reset, timed out or an HTTP error status
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        """Close the child's stdin (it shuts down gracefully), kill it if it does not."""
        if self._process.poll() is None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=STOP_TIMEOUT_S)


def seed_sample_regions(database_url: str) -> None:
    """Give a development server without a region edition the kiosk's built-in sample."""
    # The kiosk's first download then finds an edition; an official import replaces it.
    # Only the child imports the server's modules: the kiosk that starts it stays light.
    from central_server.db import Database
    from central_server.regions import current_edition, import_names
    from kiosk_app.domain.regions import sample_regions

    db = Database(database_url)
    try:
        if current_edition(db) is None:
            import_names(db, sample_regions(), "sampel bawaan (pengembangan)")
    finally:
        db.engine.dispose()


def development_config(database_url: str) -> CentralConfig:
    """Development defaults on `database_url`; messages to citizens as files beside SQLite."""
    server = ServerSettings(database_url=database_url)
    if not database_url.startswith("sqlite:///"):
        return CentralConfig(server=server, notify=NotifySettings())
    messages = Path(database_url.removeprefix("sqlite:///")).parent / "messages"
    return CentralConfig(server=server, notify=NotifySettings(file=FileChannelSettings(messages)))


def dev_clock(path: Path) -> dict[str, Any]:
    """create_app's `today` and `clock` read from the file at `path` on every call."""
    from central_server.settings import WIB

    log = logging.getLogger(__name__)

    def now() -> datetime:
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        if not text:
            return datetime.now(WIB)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            log.warning(
                "%s=%s holds %r, not an ISO date or time: the real time is used",
                DEV_CLOCK_ENV,
                path,
                text[:40],
            )
            return datetime.now(WIB)
        if "T" not in text and " " not in text:
            moment = datetime.combine(moment.date(), time_of_day(9))
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=WIB)

    return {"today": lambda: now().date(), "clock": now}


def _serve(fd: int, database_url: str) -> None:
    """Child side: serve on the inherited socket until stdin closes."""
    # Only the child imports the server: the kiosk that starts it stays light.
    import uvicorn

    from central_server.embedded import WakeableServer
    from central_server.runtime import build_app

    listener = socket.socket(fileno=fd)
    clock_file = os.environ.get(DEV_CLOCK_ENV)
    overrides = dev_clock(Path(clock_file)) if clock_file else {}
    app = build_app(development_config(database_url), **overrides)
    seed_sample_regions(database_url)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        ws="none",
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    server = WakeableServer(config)

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the kiosk stopped or died
        server.exit()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    server.run(sockets=[listener])
    if server.started:
        # Stopped cleanly: every request answered, the lifespan ended, each commit in the
        # database. The interpreter's own teardown of the server's modules would take another
        # ~0.5 s, which the kiosk stopping it waits for (every UI test's teardown): skipped.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="central_server.sidecar", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--db", required=True)
    arguments = parser.parse_args()
    _serve(arguments.fd, arguments.db)
