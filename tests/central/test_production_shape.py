"""The production shape, for real on loopback: nginx (TLS) -> two app servers -> PostgreSQL,
one notification worker; an app server SIGKILLed under load loses nothing the kiosks were told.

nginx's config comes from provisioning/central.py, the units' command lines from systemd/
(tests/central/deployment.py starts them).
"""

from __future__ import annotations

import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import requests

from central_server.app import STATIC_DIR
from kiosk_app.central import CentralClient, CentralError
from kiosk_app.domain.ticket import Slot
from tests.central.conftest import OFFICE, wait_for
from tests.central.deployment import Deployment, deployed, needs_a_deployment
from tests.domain.service_values import CASES, with_contact

CLIENTS = 4
ROUNDS = 12  # each client: a heartbeat and a submission per round
KILL_AFTER = CLIENTS * ROUNDS // 3  # acknowledged submissions before one app server dies
MAX_TRIES = 200
DATA = with_contact("kia", CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}
T = TypeVar("T")

pytestmark = needs_a_deployment


def retried(call: Callable[[], T], tries: list[int]) -> T:
    """The kiosk's retry: the same request again until the server answers (counted in tries)."""
    for _ in range(MAX_TRIES):
        try:
            return call()
        except CentralError:
            tries[0] += 1
            threading.Event().wait(0.02)
    raise AssertionError(f"no answer after {MAX_TRIES} tries")


class Kiosk:
    """One kiosk's client through nginx, and what the server told it."""

    def __init__(
        self, deployment: Deployment, n: int, session: requests.Session | None = None
    ) -> None:
        self.client = CentralClient(
            deployment.base_url,
            f"KIOSK-PROD-{n:02d}",
            OFFICE,
            timeout=10,
            session=session or deployment.session(),
        )
        self.client.token = deployment.enrol(self.client.kiosk_id)
        self.tries = [0]
        self.last_heartbeat = -1
        self.numbers: list[str] = []
        self.error: BaseException | None = None

    def run(self, acknowledged: Callable[[], None]) -> None:
        try:
            slot = self.slot()
            for n in range(ROUNDS):
                self.beat(n)
                self.submit(slot)
                acknowledged()
        except BaseException as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.client.close()

    def slot(self) -> Slot:
        return retried(lambda: self.client.slots("kia", days=14), self.tries)[0].slot

    def beat(self, n: int) -> None:
        """The n-th heartbeat (uptime n), until answered."""
        report = {
            "app_version": "0.1.0",
            "uptime_s": float(n),
            "disk_free_bytes": 10 << 30,
            "disk_total_bytes": 64 << 30,
        }
        retried(lambda: self.client.heartbeat(report), self.tries)
        self.last_heartbeat = n

    def submit(self, slot: Slot) -> None:
        """A submission, resent with its idempotency key until answered."""
        key = uuid.uuid4().hex  # one key per submission, kept across its retries
        receipt = retried(
            lambda: self.client.submit(
                service="kia",
                applicant_nik="3517081208850001",
                applicant_name="BUDI SANTOSO",
                data=DATA,
                slot=slot,
                idempotency_key=key,
                if_slot_full="next_free",
            ),
            self.tries,
        )
        self.numbers.append(receipt.registration_number)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deployed(tmp_path) as running:
        yield running


def test_killing_an_app_server_under_load_loses_no_heartbeat_or_submission(
    deployment: Deployment,
) -> None:
    victim, survivor = deployment.apps
    acked = threading.Semaphore(0)
    kiosks = [Kiosk(deployment, n) for n in range(CLIENTS)]
    threads = [threading.Thread(target=k.run, args=(acked.release,)) for k in kiosks]
    for thread in threads:
        thread.start()
    for _ in range(KILL_AFTER):
        assert acked.acquire(timeout=120), [k.error for k in kiosks]
    victim.send_signal(signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=300)
    assert [k.error for k in kiosks] == [None] * CLIENTS
    assert victim.wait(timeout=10) == -signal.SIGKILL and survivor.poll() is None

    told = sorted(number for k in kiosks for number in k.numbers)
    assert len(told) == len(set(told)) == CLIENTS * ROUNDS
    stored = sorted(
        row[0] for row in deployment.query("SELECT registration_number FROM applications")
    )
    assert stored == told  # every acknowledged submission once, nothing else
    states = dict(deployment.query("SELECT kiosk_id, uptime_s FROM kiosk_states"))
    assert states == {k.client.kiosk_id: float(ROUNDS - 1) for k in kiosks}
    assert all(k.last_heartbeat == ROUNDS - 1 for k in kiosks)

    # The one worker told every applicant once, whichever app server took the submission.
    messages = deployment.tmp / "messages"
    wait_for(lambda: len(list(messages.glob("*.txt"))) >= len(told), timeout_s=30)
    bodies = [p.read_text() for p in messages.glob("*.txt")]
    assert sorted(n for n in told for body in bodies if n in body) == told
    deployment.worker.terminate()  # systemctl stop: the pass in progress ends, exit 0
    assert deployment.worker.wait(timeout=30) == 0


def test_nginx_terminates_tls_limits_bodies_and_serves_static_files_itself(
    deployment: Deployment,
) -> None:
    with deployment.session() as session:
        plain = session.get(
            f"http://127.0.0.1:{deployment.http}/health", timeout=10, allow_redirects=False
        )
        assert plain.status_code == 301
        answers = [plain]
        assert plain.headers["Location"] == f"{deployment.base_url}/health"
        huge = session.post(
            f"{deployment.base_url}/api/v1/kiosks",
            data=b"x" * (10 << 20),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
        assert huge.status_code == 413 and len(huge.content) < 1000
        answers.append(huge)  # nginx's own 413 (over client_max_body_size)
        # the app's own slash redirect: relative (never built from Host), so it stays on https
        slash = session.get(f"{deployment.base_url}/fleet", timeout=10, allow_redirects=False)
        assert slash.status_code == 307
        assert slash.headers["Location"] == "/fleet/"  # relative: never built from Host
        answers.append(slash)  # an app server's: its headers, not doubled by nginx's
        css = (STATIC_DIR / "fleet.css").read_bytes()
        for app in deployment.apps:
            app.send_signal(signal.SIGKILL)
            app.wait(timeout=10)
        dead = session.get(f"{deployment.base_url}/health", timeout=10)
        assert dead.status_code == 502
        static = session.get(f"{deployment.base_url}/static/fleet.css", timeout=10)
        assert static.status_code == 200 and static.content == css  # no app server needed
        missing = session.get(f"{deployment.base_url}/static/none.css", timeout=10)
        assert missing.status_code == 404
    # What nginx answers itself has the headers an app server's answers have, once each.
    for answer in [*answers, dead, static, missing]:
        headers = answer.raw.headers
        assert headers.getlist("X-Content-Type-Options") == ["nosniff"], answer.url
        assert headers.getlist("X-Frame-Options") == ["DENY"]
        assert headers.getlist("Referrer-Policy") == ["no-referrer"]
        [policy] = headers.getlist("Content-Security-Policy")
        assert "frame-ancestors 'none'" in policy
        assert "script-src 'self'" in policy if answer is slash else "script" not in policy
        assert ("Strict-Transport-Security" in headers) == answer.url.startswith("https")
        assert headers["Server"] == "nginx"  # no version
