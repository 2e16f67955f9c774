"""Restart the central server's app servers one after the other (an upgrade, a changed unit
file), so that nginx always has one to send requests to (provisioning/central.py
--rolling-restart). Standard library only, like central.py.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable

from provision import Step, run, succeeds

# an app server that refused a connection (stopped, restarting) gets no request for this long
FAIL_TIMEOUT_S = 5


def rolling_restart(
    ports: tuple[int, ...],
    restart: Callable[[int], None],
    healthy: Callable[[int], bool],
    *,
    settle_s: float = FAIL_TIMEOUT_S + 1,
    wait: Callable[[float], None] = time.sleep,
    timeout_s: float = 120.0,
) -> None:
    """Restart the app servers one after the other (an upgrade), so that one always answers.

    Each is stopped (it drains first: central_server/drain.py) and started again, answers
    /health on its own port, and then stays up for nginx's fail_timeout before the next one
    stops: nginx sends nothing to an app server for fail_timeout after it refused a connection
    (while it restarted), and with the next one stopping meanwhile nginx would have none left
    and answer every request 502 (tests/central/test_production_restart.py).
    """
    for port in ports:
        restart(port)
        deadline = time.monotonic() + timeout_s
        while not healthy(port):
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"anjungan-central@{port} did not answer /health within {timeout_s:.0f} s "
                    f"after its restart: the other app servers were not restarted "
                    f"(journalctl -u anjungan-central@{port})"
                )
            wait(0.5)
        wait(settle_s)


def answers_health(port: int) -> bool:
    """One app server answers /health on its own port (over loopback, not through nginx)."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never $http_proxy
    try:
        with direct.open(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:  # refused while it starts, or an HTTP error
        return False


def restart_steps(ports: tuple[int, ...], step: Step) -> None:
    """`--rolling-restart`: the app servers one by one (nginx always has one), then the worker."""

    def restart(port: int) -> None:  # returns once it stopped (drained) and started again
        unit = f"anjungan-central@{port}.service"
        run(["systemctl", "restart", unit], step, f"{unit} restart")

    for port in ports:
        if not succeeds(["systemctl", "is-enabled", "--quiet", f"anjungan-central@{port}.service"]):
            raise SystemExit(f"anjungan-central@{port} is not set up here: check --app-ports")
    rolling_restart(ports, restart, answers_health)
    run(["systemctl", "restart", "anjungan-central-worker.service"], step, "worker restart")
