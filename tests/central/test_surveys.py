"""Satisfaction surveys over HTTP (SQLite and PostgreSQL): stored once, queued while the server
is down, and summarised as the IKM on the officers' page."""

from __future__ import annotations

import re
import socket
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient, CentralRejected
from kiosk_app.domain import ikm
from kiosk_app.services.outbox.sender import Backoff
from kiosk_app.services.surveys import PENDING, REJECTED, SENT, SurveyQueue, SurveySender
from tests.central.conftest import OFFICE, TODAY, count_rows
from tests.central.officer.conftest import (  # noqa: F401 - fixtures used by name
    OTHER_OFFICE,
    Central,
    Staff,
    central,
    cheap_password_hashing,
    officer,
)

ALL_GOOD = dict.fromkeys(ikm.CODES, 4)
MIXED = {"U1": 3, "U2": 3, "U3": 2, "U4": 4, "U5": 3, "U6": 3, "U7": 4, "U8": 2, "U9": 3}
IKM_CELL = re.compile(
    r'data-service="(\w+)">.*?<td class="ikm"><strong>([\d.]+)</strong></td>'
    r'\s*<td class="mutu">([A-D])</td>',
    re.S,
)


def test_a_survey_is_stored_once_per_key(client: CentralClient, db_path: str) -> None:
    key = uuid.uuid4().hex
    first = client.submit_survey(
        service="akta_kelahiran", survey_date=TODAY, answers=MIXED, idempotency_key=key
    )
    assert first["office_code"] == OFFICE and first["service"] == "akta_kelahiran"
    again = client.submit_survey(
        service="akta_kelahiran", survey_date=TODAY, answers=MIXED, idempotency_key=key
    )
    assert again == first
    assert count_rows(db_path, "survey_responses") == 1
    with pytest.raises(CentralRejected) as conflict:
        client.submit_survey(
            service="akta_kelahiran", survey_date=TODAY, answers=ALL_GOOD, idempotency_key=key
        )
    assert (conflict.value.status, conflict.value.code) == (409, "idempotency_conflict")
    assert count_rows(db_path, "survey_responses") == 1


@pytest.mark.parametrize(
    ("answers", "day", "code"),
    [
        # the nine answers are in the OpenAPI schema: field errors (FastAPI's 422 list, no code)
        ({**MIXED, "U9": 5}, TODAY, None),
        ({k: v for k, v in MIXED.items() if k != "U5"}, TODAY, None),
        ({**MIXED, "U10": 1}, TODAY, None),
        (MIXED, TODAY + timedelta(days=5), "bad_date"),
        (MIXED, TODAY - timedelta(days=900), "bad_date"),
    ],
)
def test_bad_surveys_are_refused(
    client: CentralClient, db_path: str, answers: dict[str, int], day: date, code: str | None
) -> None:
    with pytest.raises(CentralRejected) as refused:
        client.submit_survey(
            service="kia", survey_date=day, answers=answers, idempotency_key=uuid.uuid4().hex
        )
    assert (refused.value.status, refused.value.code) == (422, code)
    assert count_rows(db_path, "survey_responses") == 0


def test_surveys_need_a_kiosk_token_and_a_key(client: CentralClient, db_path: str) -> None:
    body = {"service": "kia", "survey_date": TODAY.isoformat(), "answers": MIXED}
    url = f"{client.base_url}/api/v1/surveys"
    anonymous = requests.post(url, json=body, headers={"Idempotency-Key": "a" * 16}, timeout=10)
    assert anonymous.status_code == 401
    keyless = requests.post(
        url, json=body, headers={"Authorization": f"Bearer {client.token}"}, timeout=10
    )
    assert keyless.status_code == 400
    assert count_rows(db_path, "survey_responses") == 0


# -- offline, then sent once -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def down_then_up(database_url: str) -> Iterator[tuple[int, list[EmbeddedServer]]]:
    """A port with no server yet; the test starts it with `start()` (stopped at the end)."""
    running: list[EmbeddedServer] = []
    yield free_port(), running
    for server in running:
        server.stop()


def _kiosk(port: int, kiosk_id: str) -> CentralClient:
    """A kiosk client that enrols itself on first use."""
    return CentralClient(f"http://127.0.0.1:{port}", kiosk_id, OFFICE, timeout=5, enrol_as="Lobi")


def test_offline_survey_is_kept_then_sent_exactly_once(
    database_url: str, down_then_up: tuple[int, list[EmbeddedServer]], tmp_path: Path
) -> None:
    port, running = down_then_up
    kiosk = _kiosk(port, "kiosk-07")
    queue = SurveyQueue(tmp_path / "surveys.db")
    sender = SurveySender(queue, kiosk, backoff=Backoff(base_s=0.0), rng=lambda: 0.0)
    try:
        row = sender.submit("cetak_ulang_ktp", TODAY, MIXED)
        assert sender.drain_once() == 0  # connection refused: kept, retried later
        kept = queue.entries()
        assert [(r.status, r.attempts) for r in kept] == [(PENDING, 1)]
        assert "ConnectionError" in kept[0].last_error

        # A kiosk restart reopens the queue from disk: nothing was lost.
        queue.close()
        queue = SurveyQueue(tmp_path / "surveys.db")
        sender = SurveySender(queue, kiosk, backoff=Backoff(base_s=0.0), rng=lambda: 0.0)
        app = create_app(database_url, today=lambda: TODAY, open_enrolment=True)
        running.append(EmbeddedServer(app, "127.0.0.1", port).start())
        assert sender.drain_once() == 1
        assert [r.status for r in queue.entries()] == [SENT]
        assert sender.drain_once() == 0  # nothing left to send

        # The "sent" mark lost (power cut before it reached the disk): the resend counts once.
        with queue._lock, queue._db:
            queue._db.execute("UPDATE surveys SET status=? WHERE id=?", (PENDING, row.id))
        assert sender.drain_once() == 1
        assert count_rows(database_url, "survey_responses") == 1
    finally:
        queue.close()
        kiosk.close()


def test_a_refused_survey_is_parked_not_retried(client: CentralClient, tmp_path: Path) -> None:
    queue = SurveyQueue(tmp_path / "surveys.db")
    sender = SurveySender(queue, client, backoff=Backoff(base_s=0.0), rng=lambda: 0.0)
    try:
        queue.enqueue("kia", TODAY - timedelta(days=900), MIXED)  # too old for the server
        sender.submit("kia", TODAY, ALL_GOOD)
        assert sender.drain_once() == 1
        statuses = [(r.status, r.service) for r in queue.entries()]
        assert statuses == [(REJECTED, "kia"), (SENT, "kia")]
        assert "bad_date" in queue.entries()[0].last_error
    finally:
        queue.close()


def test_the_queue_refuses_incomplete_answers(tmp_path: Path) -> None:
    queue = SurveyQueue(tmp_path / "surveys.db")
    try:
        with pytest.raises(ikm.InvalidAnswers):
            queue.enqueue("kia", TODAY, {"U1": 4})
        assert queue.entries() == []
    finally:
        queue.close()


# -- the officers' page ------------------------------------------------------------------------


def send(
    server: Central,
    answers: dict[str, int],
    service: str = "akta_kelahiran",
    day: date = TODAY,
    kiosk_id: str = "kiosk-01",
    office: str = OFFICE,
) -> None:
    r = requests.post(
        f"{server.url}/api/v1/surveys",
        json={"service": service, "survey_date": day.isoformat(), "answers": answers},
        headers={**server.kiosk(kiosk_id, office), "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert r.status_code == 201, r.text


def shown(page: str) -> dict[str, tuple[str, str]]:
    """service (or 'semua') -> (IKM, category letter) as the page shows them."""
    return {service: (value, letter) for service, value, letter in IKM_CELL.findall(page)}


def test_officer_page_shows_the_ikm_per_service_and_office(
    central: Central,  # noqa: F811 - the imported fixtures
    officer: Staff,  # noqa: F811
) -> None:
    birth = [ALL_GOOD, MIXED, MIXED]
    for answers in birth:
        send(central, answers)
    send(central, dict.fromkeys(ikm.CODES, 2), service="status")
    send(central, dict.fromkeys(ikm.CODES, 1), day=TODAY - timedelta(days=40))  # out of range
    send(central, dict.fromkeys(ikm.CODES, 1), kiosk_id="kiosk-sby", office=OTHER_OFFICE)

    start = (TODAY - timedelta(days=7)).isoformat()
    page = officer.get(f"/officer/ikm?start={start}&end={TODAY.isoformat()}")
    assert page.status_code == 200
    expected_birth = ikm.summarise(birth)
    expected_all = ikm.summarise([*birth, dict.fromkeys(ikm.CODES, 2)])
    assert expected_birth is not None and expected_all is not None
    assert shown(page.text) == {
        "akta_kelahiran": (f"{expected_birth.rounded:.2f}", expected_birth.category.letter),
        "status": ("50.00", "D"),
        "semua": (f"{expected_all.rounded:.2f}", expected_all.category.letter),
    }
    assert "Cek status permohonan" in page.text and "Akta Kelahiran" in page.text
    assert 'href="/officer/ikm"' in officer.get("/officer/applications").text  # in the menu

    # The other office's officer sees only their own office, whatever the query asks.
    other = Staff(central.url, "petugas_sby")
    theirs = other.get(f"/officer/ikm?office={OFFICE}&start={start}&end={TODAY.isoformat()}")
    assert shown(theirs.text) == {"akta_kelahiran": ("25.00", "D"), "semua": ("25.00", "D")}

    # An empty range says so; no login, no page.
    empty = officer.get("/officer/ikm?start=2025-01-01&end=2025-01-31")
    assert 'id="ikm-empty"' in empty.text and shown(empty.text) == {}
    anonymous = requests.get(f"{central.url}/officer/ikm", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


def test_a_waiting_survey_is_due_as_soon_as_the_server_answers_again(
    database_url: str, down_then_up: tuple[int, list[EmbeddedServer]], tmp_path: Path
) -> None:
    port, running = down_then_up
    kiosk = _kiosk(port, "kiosk-08")
    queue = SurveyQueue(tmp_path / "surveys.db")
    sender = SurveySender(queue, kiosk, backoff=Backoff(base_s=300.0), rng=lambda: 1.0)
    kiosk.on_answer(sender.server_answered)  # as bootstrap wires it
    try:
        sender.submit("cetak_ulang_ktp", TODAY, MIXED)
        assert sender.drain_once() == 0  # refused connection: backed off for 300 s
        assert sender.drain_once() == 0  # still waiting
        app = create_app(database_url, today=lambda: TODAY, open_enrolment=True)
        running.append(EmbeddedServer(app, "127.0.0.1", port).start())
        kiosk.health()  # anything the server answers ends the wait
        assert sender.drain_once() == 1
        assert [r.status for r in queue.entries()] == [SENT]
    finally:
        queue.close()
        kiosk.close()
