"""A rolling restart under load, for real on loopback: nginx (TLS) -> two app servers ->
PostgreSQL, each app server stopped gracefully (SIGTERM, as `systemctl restart` does) and
started again while kiosks and an officer keep POSTing. Nothing may be answered 502.

nginx keeps idle connections to the app servers and does not send a POST it has written once
to another server (proxy_next_upstream without non_idempotent): an app server that closed an
idle kept-alive connection as it stopped, while nginx was writing a POST onto it, made nginx
answer that POST 502 (central_server/drain.py).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from central_server.auth import create_user
from central_server.db import Database
from central_server.quota import MAX_DAILY_QUOTA
from tests.central.conftest import OFFICE
from tests.central.deployment import Deployment, deployed, needs_a_deployment, provisioning
from tests.central.officer.conftest import PASSWORD, Staff
from tests.central.test_production_shape import Kiosk

KIOSKS = 4
ROUNDS = 2  # rolling restarts: each restarts every app server once, one after the other
PROGRESS = 12  # POSTs answered before, between and after them (the load goes on throughout)
SUBMIT_EVERY = 4  # heartbeats per submission
# nginx's timers here, shorter than production's (provisioning/central_nginx.py), for the same
# order of events in less time: the upstream fail_timeout (5 s), and so the wait after each app
# server (rolling_restart's settle_s, fail_timeout + 1 as in production: 2 s instead of 6;
# nginx counts it in whole seconds), and the upstream keepalive_timeout (15 s), which a
# stopping app server's drain waits for when a worker the load does not use holds an idle
# connection to it (up to 15 s per restart instead of 2)
TIMERS = {"fail_timeout_s": 1, "upstream_keepalive_s": 2}

pytestmark = needs_a_deployment


class Answers:
    """Every answer nginx gave, by status (a response hook on each client's session)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failed: list[tuple[str, str, int]] = []
        self.posts = threading.Semaphore(0)  # one release per POST answered 2xx/3xx

    def hook(self, response: requests.Response, *_: Any, **__: Any) -> None:
        request = response.request
        if response.status_code >= 500:
            with self.lock:
                self.failed.append(
                    (str(request.method), str(request.path_url), response.status_code)
                )
        elif request.method == "POST" and response.status_code < 400:
            self.posts.release()

    def session(self, deployment: Deployment, browser: bool = False) -> requests.Session:
        session = deployment.session(browser)
        session.hooks["response"].append(self.hook)
        return session


class RollingKiosk(Kiosk):
    """test_production_shape's kiosk (its retries, same idempotency key), heartbeating until
    told to stop and submitting every SUBMIT_EVERY heartbeats."""

    def __init__(self, deployment: Deployment, n: int, answers: Answers) -> None:
        super().__init__(deployment, n, answers.session(deployment))
        self.beats = 0

    def run_until(self, stop: threading.Event) -> None:
        try:
            slot = self.slot()
            while not stop.is_set():
                self.beat(self.beats)
                self.beats += 1
                if self.beats % SUBMIT_EVERY == 0:
                    self.submit(slot)
        except BaseException as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.client.close()


class Admin:
    """An administrator creating staff accounts through the officer pages' form (CSRF, cookie
    session) in a browser, one POST per account, resent only as a browser resends it (its
    connection closed before any answer: deployment.BrowserResend)."""

    def __init__(self, deployment: Deployment, answers: Answers) -> None:
        db = Database(deployment.db_url)
        create_user(db, "admin", PASSWORD, "admin")
        db.dispose()
        http = answers.session(deployment, browser=True)
        self.staff = Staff(deployment.base_url, "admin", http=http)
        assert self.staff.login_response.status_code == 303
        self.created: list[str] = []
        self.refused: list[tuple[str, int]] = []
        self.error: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                name = f"petugas{len(self.created) + len(self.refused):04d}"
                answer = self.staff.post(
                    "/officer/users",
                    {"username": name, "password": PASSWORD, "role": "officer",
                     "office": OFFICE, "full_name": "Petugas Bergilir"},
                )  # fmt: skip
                if answer.status_code == 303:
                    self.created.append(name)
                else:
                    self.refused.append((name, answer.status_code))
        except BaseException as exc:
            self.error = exc
        finally:
            self.staff.http.close()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deployed(tmp_path, **TIMERS) as running:
        yield running


class Load:
    """KIOSKS kiosks heartbeating and submitting and an administrator creating accounts, all
    through nginx from start() until end(); check() then finds every POST took effect once."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.answers = Answers()
        deployment.execute(  # room for every submission in the fortnight the kiosks book
            f"INSERT INTO quotas VALUES ('{OFFICE}', 'kia', {MAX_DAILY_QUOTA}) "
            f"ON CONFLICT (office_code, service) DO UPDATE SET daily_quota = {MAX_DAILY_QUOTA}"
        )
        self.kiosks = [RollingKiosk(deployment, n, self.answers) for n in range(KIOSKS)]
        self.admin = Admin(deployment, self.answers)
        self.stop = threading.Event()
        runs = [*(k.run_until for k in self.kiosks), self.admin.run]
        self.threads = [threading.Thread(target=run, args=(self.stop,)) for run in runs]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def progress(self) -> None:
        """Wait for PROGRESS more POSTs answered (the load goes on meanwhile)."""
        for _ in range(PROGRESS):
            assert self.answers.posts.acquire(timeout=120), self.errors()

    def errors(self) -> list[BaseException | None]:
        return [c.error for c in [*self.kiosks, self.admin]]

    def end(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=300)

    def check(self) -> None:
        """No client failed, nothing was answered 5xx, every POST took effect once: each
        submission stored once (its retries replayed), each account the officer was told was
        created exists once, and no other."""
        assert self.errors() == [None] * (KIOSKS + 1)
        assert self.answers.failed == []  # no 502 (nor any 5xx), for the kiosks or the officer
        assert self.admin.refused == []
        told = sorted(number for k in self.kiosks for number in k.numbers)
        assert len(told) == len(set(told))
        stored = sorted(
            row[0] for row in self.deployment.query("SELECT registration_number FROM applications")
        )
        assert stored == told
        users = sorted(row[0] for row in self.deployment.query("SELECT username FROM users"))
        assert users == sorted(["admin", "teknisi", *self.admin.created])
        states = dict(self.deployment.query("SELECT kiosk_id, uptime_s FROM kiosk_states"))
        assert states == {k.client.kiosk_id: float(k.beats - 1) for k in self.kiosks}


def test_a_rolling_restart_under_post_load_answers_no_post_502(deployment: Deployment) -> None:
    load = Load(deployment)
    provisioning()  # puts provisioning/ on sys.path, as the script does for its siblings
    prov = importlib.import_module("central_restart")

    def healthy(port: int) -> bool:
        for process in deployment.apps:
            assert process.poll() is None, deployment.log_of(process)
        return bool(prov.answers_health(port))

    load.start()
    try:
        load.progress()
        for _ in range(ROUNDS):  # what `provisioning/central.py --rolling-restart` does
            prov.rolling_restart(
                deployment.app_ports, deployment.restart_app, healthy,
                settle_s=deployment.fail_timeout_s + 1,
            )  # fmt: skip
            load.progress()
    finally:
        load.end()
    load.check()
