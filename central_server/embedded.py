"""Run the central server inside the current process (kiosk without a central URL, tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from central_server.app import create_app

STARTUP_TIMEOUT_S = 10.0
TICK_S = 0.1  # uvicorn's main loop: the Date header, max_requests, should_exit


class WakeableServer(uvicorn.Server):
    """uvicorn's server, told to exit from another thread without waiting for its next tick
    (every stop waited up to 0.1 s for it: a test's server fixture stops hundreds a run)."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        """uvicorn's Server.main_loop, its sleep between ticks cut short by exit()."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            try:
                await asyncio.wait_for(self._wake.wait(), TICK_S)
            except TimeoutError:
                pass
            should_exit = await self.on_tick(counter)

    def exit(self) -> None:
        """Set should_exit and wake the main loop (any thread)."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop has closed: the server is gone already
                pass


class EmbeddedServer:
    """A uvicorn server on a background thread, listening on a socket bound up front."""

    def __init__(
        self, app: FastAPI, host: str, port: int, tls: tuple[Path, Path] | None = None
    ) -> None:
        """`tls`: (certificate, key) PEM files to serve https (a self-signed server in tests)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(128)  # connections made before uvicorn starts wait in the backlog
        self.host, self.port = host, self._socket.getsockname()[1]
        self._app = app
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            lifespan="on",
            ws="none",
            proxy_headers=False,  # central_server.security trusts configured proxies only
            timeout_graceful_shutdown=5,
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
        self.scheme = "https" if tls else "http"
        self._server = WakeableServer(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"central-server:{self.port}",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """URL of the server, e.g. http://127.0.0.1:43121 (https with `tls`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def start(self) -> EmbeddedServer:
        """Start serving and wait until uvicorn reports it has started."""
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"embedded central server failed to start on {self.base_url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread, close the socket."""
        displays = getattr(self._app.state, "displays", None)
        if displays is not None:
            displays.close_soon()  # open display streams would hold the graceful shutdown
        self._server.exit()
        if self._thread.is_alive():
            self._thread.join(timeout=STARTUP_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> EmbeddedServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_embedded(
    database_url: str, host: str = "127.0.0.1", port: int = 0, **app_options: Any
) -> EmbeddedServer:
    """Start a central server on host:port (0 = a free port); app_options go to create_app."""
    return EmbeddedServer(create_app(database_url, **app_options), host, port).start()
