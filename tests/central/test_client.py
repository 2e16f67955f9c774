"""kiosk_app.central.CentralClient against the embedded server and loopback stubs."""

from __future__ import annotations

import gc
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from central_server.embedded import EmbeddedServer
from kiosk_app.central import (
    ApplicationStatus,
    CentralClient,
    CentralRejected,
    CentralUnavailable,
    NotFound,
    SlotFull,
)
from kiosk_app.central_transport import MSG_UNAVAILABLE
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY

NIK = "3517016612990002"
MONDAY = Slot(date(2026, 11, 23), "08.00-11.00")


def submit(client: CentralClient, key: str, slot: Slot = MONDAY, **over: object):  # type: ignore[no-untyped-def]
    """Submit a valid application."""
    args: dict[str, object] = {
        "service": "akta_kelahiran",
        "applicant_nik": NIK,
        "applicant_name": "Dewi Lestari",
        "data": {"child_name": "Rina"},
        "slot": slot,
        "idempotency_key": key,
    }
    return client.submit(**(args | over))  # type: ignore[arg-type]


def test_register_slots_submit_status(client: CentralClient) -> None:
    offered = client.slots("akta_kelahiran", days=5)
    assert offered and all(isinstance(s.slot, Slot) and s.slot.date > TODAY for s in offered)
    assert all(s.slot.date.weekday() < 5 for s in offered)
    receipt = submit(client, "client-key-1", local_reference="L-1")
    assert receipt.slot == MONDAY and receipt.status == "submitted"
    assert receipt.registration_number.startswith("AKTA-35.17.261119.")
    assert receipt.queue_number == "A-001" and receipt.office_code == OFFICE
    after = {s.slot: s.remaining for s in client.slots("akta_kelahiran", days=5)}
    before = {s.slot: s.remaining for s in offered}
    assert after[MONDAY] == before[MONDAY] - 1
    status = client.status(receipt.registration_number)
    assert isinstance(status, ApplicationStatus) and isinstance(status.status_text, Text)
    assert status.masked_name == "D*** L******" and status.slot == MONDAY


def test_resubmission_with_same_key_returns_first_receipt(client: CentralClient) -> None:
    first = submit(client, "client-key-1")
    assert submit(client, "client-key-1") == first
    with pytest.raises(CentralRejected) as conflict:
        submit(client, "client-key-1", applicant_name="Someone Else")
    assert conflict.value.code == "idempotency_conflict" and not conflict.value.retriable


def test_full_and_closed_slots_raise_slot_full(client: CentralClient) -> None:
    r = requests.put(
        f"{client.base_url}/api/v1/offices/{OFFICE}/quotas/kia",
        json={"daily_quota": 1},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 200
    submit(client, "kia-key-0001", service="kia")
    assert MONDAY not in {s.slot for s in client.slots("kia")}
    with pytest.raises(SlotFull) as full:
        submit(client, "kia-key-0002", service="kia")
    assert full.value.code == "slot_full" and not full.value.retriable
    assert full.value.citizen_message.id and full.value.citizen_message.en
    with pytest.raises(SlotFull) as closed:
        submit(client, "kia-key-0003", slot=Slot(date(2026, 11, 22), "08.00-11.00"))
    assert closed.value.code == "slot_unavailable"


def test_not_found_and_auth_errors(client: CentralClient) -> None:
    with pytest.raises(NotFound) as missing:
        client.status("AKTA-35.17.261119.0999")
    assert missing.value.status == 404 and "tidak ditemukan" in missing.value.citizen_message.id
    stale = CentralClient(client.base_url, "kiosk-01", OFFICE, token="stale-token")
    with pytest.raises(CentralRejected) as denied:
        stale.slots("kia")
    assert denied.value.status == 401 and not denied.value.retriable
    with pytest.raises(CentralRejected, match="no token"):
        CentralClient(client.base_url, "kiosk-09", OFFICE).slots("kia")


def test_reregistering_rotates_token(server: EmbeddedServer, client: CentralClient) -> None:
    old = client.token
    other = CentralClient(server.base_url, "kiosk-01", OFFICE)
    assert other.register("Lobi") != old
    with pytest.raises(CentralRejected):
        client.slots("kia")
    assert other.slots("kia")


def test_dev_kiosk_enrols_again_when_its_token_was_rotated(server: EmbeddedServer) -> None:
    """An enrolment that landed late (after a timeout here) rotated the token: enrol again once."""
    dev = CentralClient(server.base_url, "kiosk-dev", OFFICE, timeout=10, enrol_as="Lobi")
    assert dev.slots("kia")
    first = dev.token
    CentralClient(server.base_url, "kiosk-dev", OFFICE).register("Lobi")  # the late enrolment
    assert dev.slots("kia")
    assert dev.token and dev.token != first
    fixed = CentralClient(server.base_url, "kiosk-01", OFFICE, token="not-a-token")
    with pytest.raises(CentralRejected):  # a provisioned kiosk never re-enrols by itself
        fixed.slots("kia")


def test_validation_error_is_logged_without_the_nik(
    client: CentralClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bad_nik = "35170166129900X2"
    with pytest.raises(CentralRejected) as err:
        submit(client, "bad-nik-key-1", applicant_nik=bad_nik)
    assert err.value.status == 422
    assert bad_nik not in caplog.text and mask_nik(bad_nik) in caplog.text
    submit(client, "good-key-0001")
    assert NIK not in caplog.text and "Dewi" not in caplog.text and "Lestari" not in caplog.text
    assert mask_nik(NIK) in caplog.text  # the server's creation log line, masked


def test_dead_server_is_unavailable_quickly() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # A long timeout: the refusal must come from the connection, never from waiting it out.
    client = CentralClient(f"http://127.0.0.1:{port}", "kiosk-01", OFFICE, token="t", timeout=600)
    with pytest.raises(CentralUnavailable) as err:
        client.slots("kia")
    assert "Connection refused" in str(err.value) and "timed out" not in str(err.value)
    assert err.value.retriable and err.value.retry_after is None
    assert err.value.citizen_message == MSG_UNAVAILABLE


class _Stub(BaseHTTPRequestHandler):
    """Answers with the status and headers put on the server object; /slow never answers."""

    def do_GET(self) -> None:  # http.server's naming
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        status, headers, text = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(text.encode())

    def log_message(self, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture
def stub() -> Iterator[ThreadingHTTPServer]:
    """A loopback HTTP server whose answer each test sets."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("status", "headers", "text", "expected", "retry_after"),
    [
        (429, {"Retry-After": "7"}, '{"detail": "slow down"}', CentralUnavailable, 7.0),
        (503, {}, "Service Unavailable", CentralUnavailable, None),
        (500, {"Content-Type": "application/json"}, '{"detail": "boom"}', CentralUnavailable, None),
        (200, {}, "<html>captive portal</html>", CentralUnavailable, None),
        (403, {}, '{"detail": {"code": "forbidden", "message": "no"}}', CentralRejected, None),
        (404, {}, '{"detail": "Not Found"}', CentralRejected, None),
    ],
)
def test_http_failures_are_mapped(
    stub: ThreadingHTTPServer,
    status: int,
    headers: dict[str, str],
    text: str,
    expected: type[Exception],
    retry_after: float | None,
) -> None:
    stub.answer = (status, headers, text)  # type: ignore[attr-defined]
    client = CentralClient(f"http://127.0.0.1:{stub.server_port}", "k", OFFICE, token="t")
    with pytest.raises(expected) as err:
        client.slots("kia")
    assert type(err.value) is expected
    assert getattr(err.value, "retry_after", None) == retry_after
    assert err.value.status == status


def test_timeout_is_unavailable(stub: ThreadingHTTPServer) -> None:
    stub.answer = (200, {}, "[]")  # type: ignore[attr-defined]
    client = CentralClient(
        f"http://127.0.0.1:{stub.server_port}/slow", "k", OFFICE, token="t", timeout=0.2
    )
    with pytest.raises(CentralUnavailable, match="timed out"):
        client.slots("kia")


def test_close_ends_the_kept_alive_connection_at_once_after_a_refused_request() -> None:
    """A stopping app server waits for every open connection (central_server/drain.py), so
    close() must end them itself: a refused request's traceback keeps its urllib3 pool alive
    in a reference cycle, and Session.close (urllib3 2.8) left that pool's connection to the
    garbage collector, open until its next full collection (none here)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # bound, not yet listening: a connection is refused
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = CentralClient(base_url, "kiosk-01", OFFICE, token="t", timeout=10)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(CentralUnavailable, match="Connection refused"):
            client.health()
        listener.listen(1)
        answered = threading.Thread(target=client.health)
        answered.start()
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            assert conn.recv(65536).startswith(b"GET /health ")
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            conn.sendall(b"Content-Length: 2\r\n\r\n{}")
            answered.join(timeout=10)
            assert not answered.is_alive()
            client.close()
            assert conn.recv(65536) == b""  # closed by the client (a timeout raises instead)
    finally:
        listener.close()
        if collecting:
            gc.enable()
