"""Serve with several worker processes, each on its own SO_REUSEPORT socket.

`uvicorn --workers N` shares one listening socket: whichever worker wakes first accepts, so a
burst of long-lived keep-alive connections (kiosks) can land mostly on one process while the
other idles (seen in benchmarks/heartbeats.py). With one SO_REUSEPORT socket per worker the
kernel spreads connections evenly across the workers by their address hash.

    python -m central_server.serve --factory central_server.serve:default_app --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import sys
import threading
from typing import Any

from central_server.settings import DEFAULT_DATABASE_URL

STOP_TIMEOUT_S = 10.0


def default_app() -> Any:
    """Factory of the central server on $ANJUNGAN_DB (default: SQLite in ./var)."""
    from central_server.app import create_app  # in each worker only, not in the supervisor

    return create_app(os.environ.get("ANJUNGAN_DB", DEFAULT_DATABASE_URL))


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other processes may bind to the same address as well."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(factory: str, app_dir: str, host: str, port: int, options: dict[str, Any]) -> None:
    """One worker process: its own socket, its own event loop (uvloop, httptools if present)."""
    import uvicorn

    if app_dir:
        sys.path.insert(0, app_dir)
    sock = reuseport_socket(host, port)
    config = uvicorn.Config(factory, factory=True, **options)
    uvicorn.Server(config).run(sockets=[sock])


def serve(
    factory: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 2,
    app_dir: str = "",
    **options: Any,
) -> None:
    """Run `workers` processes of the app built by `factory` ("module:function") until stopped."""
    options = {
        "http": "httptools",
        "loop": "uvloop",
        "ws": "none",
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,  # central_server.security trusts configured proxies only
        **options,
    }
    reuseport_socket(host, port).close()  # fail early (address in use) in the parent
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(factory, app_dir, host, port, options), daemon=True)
        for _ in range(max(1, workers))
    ]
    for process in processes:
        process.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set() and all(p.is_alive() for p in processes):
        stop.wait(0.5)
    for process in processes:
        if process.is_alive():
            process.terminate()  # uvicorn shuts down gracefully on SIGTERM
    for process in processes:
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            process.kill()
            process.join(STOP_TIMEOUT_S)


def main(argv: list[str] | None = None) -> None:
    """Parse command-line options and serve."""
    parser = argparse.ArgumentParser(prog="central_server.serve", description=__doc__)
    parser.add_argument("--factory", default="central_server.serve:default_app")
    parser.add_argument("--app-dir", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    serve(args.factory, host=args.host, port=args.port, workers=args.workers, app_dir=args.app_dir)


if __name__ == "__main__":
    main()
