"""Every service's pre-application over HTTP, and the applicant told at once (test channels)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from central_server import issued, lifecycle
from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from central_server.models import Application
from central_server.notify import RecordingChannel
from central_server.review_models import ApplicationEvent, OutboxMessage
from kiosk_app.central import CentralClient, CentralRejected
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from tests.central.conftest import OFFICE, TODAY, wait_for
from tests.domain.service_values import CASES, with_contact

APPLICANT_NIK, APPLICANT = "3517081208850001", "BUDI SANTOSO"


@dataclass
class Rig:
    """A server with recording channels and an enrolled kiosk client."""

    app: object
    client: CentralClient
    sms: RecordingChannel
    whatsapp: RecordingChannel
    email: RecordingChannel

    def submit(self, service: str, data: dict[str, str], key: str | None = None) -> str:
        """Submit through the kiosk's client on the first free slot; the registration number."""
        slot = self.client.slots(service, days=14)[0].slot
        receipt = self.client.submit(
            service=service,
            applicant_nik=APPLICANT_NIK,
            applicant_name=APPLICANT,
            data=data,
            slot=slot,
            idempotency_key=key or uuid.uuid4().hex,
        )
        return receipt.registration_number


@pytest.fixture
def rig(database_url: str) -> Iterator[Rig]:
    """A central server on loopback (SQLite and PostgreSQL) whose channels record messages."""
    sms, whatsapp, email = RecordingChannel(), RecordingChannel(), RecordingChannel()
    app = create_app(
        database_url,
        today=lambda: TODAY,
        channels={"sms": sms, "whatsapp": whatsapp, "email": email},
        secret_key="test-session-key-0123456789abcdef",
        open_enrolment=True,
    )
    app.state.review.worker.poll_s = 0.05
    server = EmbeddedServer(app, "127.0.0.1", 0).start()
    client = CentralClient(server.base_url, "kiosk-services", OFFICE, timeout=10)
    try:
        client.register("Anjungan lobi")
        yield Rig(app, client, sms, whatsapp, email)
    finally:
        client.close()
        server.stop()


def every_case() -> list[tuple[str, dict[str, str]]]:
    cases = [(service, with_contact(service, values)) for service, _, values in CASES]
    return [("akta_kelahiran", sample_birth_values(TODAY)), *cases]


def test_every_service_is_accepted_and_the_applicant_hears_at_once(rig: Rig) -> None:
    numbers = {}
    for service, data in every_case():
        number = rig.submit(service, data)
        assert number.startswith(SERVICES[service].registration_prefix + "-"), number
        numbers[number] = service
    assert set(numbers.values()) == set(SERVICES)
    wait_for(lambda: len(rig.whatsapp.sent) == len(numbers) and len(rig.email.sent) == len(numbers))
    for message in rig.whatsapp.sent:
        assert message.recipient == "081234567890"
        assert any(number in message.body for number in numbers)
        assert "Pra-permohonan diterima" in message.body and "nomor antrean" in message.body
        assert APPLICANT_NIK not in message.body and "BUDI" not in message.body
    assert {m.recipient for m in rig.email.sent} == {"siti@example.test", "dewi@contoh.id"}
    assert rig.sms.sent == []


def test_a_replayed_submission_is_told_once_and_no_contact_means_no_message(rig: Rig) -> None:
    key = uuid.uuid4().hex
    data = with_contact("kia", CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}
    first = rig.submit("kia", data, key)
    assert rig.submit("kia", data, key) == first
    silent = with_contact("pindah", CASES[8][2]) | {"contact_phone": "", "contact_email": ""}
    quiet = rig.submit("pindah", silent)
    wait_for(lambda: len(rig.sms.sent) >= 1)
    time.sleep(0.3)  # a duplicate would have been sent by now
    assert [first in m.body for m in rig.sms.sent] == [True]
    db = rig.app.state.db  # type: ignore[attr-defined]
    with db.transaction() as session:
        app = session.scalar(select(Application).where(Application.registration_number == quiet))
        assert app is not None
        messages = session.scalars(
            select(OutboxMessage).where(OutboxMessage.application_id == app.id)
        ).all()
        assert messages == []
        events = lifecycle.history(session, app)
        assert [(e.action, e.from_status, e.to_status) for e in events] == [
            ("submit", None, "submitted")
        ]
        assert events[0].actor == "kiosk:kiosk-services"


def test_documents_of_the_new_services_carry_their_prefix_and_holder(rig: Rig) -> None:
    death = with_contact("akta_kematian", CASES[0][2])
    number = rig.submit("akta_kematian", death)
    db = rig.app.state.db  # type: ignore[attr-defined]
    with db.transaction() as session:
        app = session.scalar(select(Application).where(Application.registration_number == number))
        assert app is not None
        name, nik = issued.default_holder(app)
        assert (name, nik) == ("AHMAD SUBAGYO", death["deceased_nik"])
        lifecycle.transition(session, app, "approve", "petugas", notify=None)
        lifecycle.check_in(session, app, "petugas", app.slot_date)  # at the counter
        lifecycle.transition(session, app, "verify", "petugas", notify=None)
        document = issued.issue_document(session, app, "petugas", name, nik, TODAY, notify=None)
        assert document.document_number.startswith(f"{OFFICE}-KM-")
        assert session.scalars(
            select(ApplicationEvent.action).where(ApplicationEvent.application_id == app.id)
        ).all() == ["submit", "approve", "arrive", "verify", "issue"]
    assert set(issued.DOCUMENT_PREFIXES) == set(SERVICES)


def test_applications_inserted_in_bulk_are_told_too(rig: Rig) -> None:
    from datetime import date

    from central_server.submission_notice import record_many

    db = rig.app.state.db  # type: ignore[attr-defined]
    numbers = [f"KIA-35.17.261119.{n:04d}" for n in (901, 902)]
    data = '{"contact_phone": "081299990000", "contact_channel": "sms"}'
    with db.transaction() as session:
        for n, number in enumerate(numbers):
            session.add(
                Application(
                    registration_number=number,
                    queue_number=f"A-{900 + n}",
                    kiosk_id="kiosk-services",
                    idempotency_key=f"bulk-key-{n}",
                    request_hash="h",
                    office_code=OFFICE,
                    service="kia",
                    status="submitted",
                    applicant_nik=APPLICANT_NIK,
                    applicant_name=APPLICANT,
                    data_json=data,
                    slot_date=date(2026, 11, 23),
                    slot_window="08.00-11.00",
                    created_at="2026-11-19T09:00:00+07:00",
                    response_json="{}",
                )
            )
        session.flush()
        assert record_many(session, numbers, "kiosk:bulk") == 2
        assert record_many(session, [], "kiosk:bulk") == 0
    wait_for(lambda: len(rig.sms.sent) == 2)
    assert [m.recipient for m in rig.sms.sent] == ["081299990000"] * 2
    assert {numbers[0] in rig.sms.sent[0].body, numbers[1] in rig.sms.sent[1].body} == {True}


def test_a_backlog_sent_in_one_batch_tells_each_applicant(rig: Rig) -> None:
    slot = rig.client.slots("kia", days=14)[0].slot
    data = with_contact("kia", CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}
    items = [
        (
            f"batch-notice-{n}",
            {
                "service": "kia",
                "applicant_nik": APPLICANT_NIK,
                "applicant_name": APPLICANT,
                "data": data,
                "slot": slot,
            },
        )
        for n in range(3)
    ]
    receipts = rig.client.submit_batch(items)
    numbers = [r.registration_number for r in receipts]  # type: ignore[union-attr]
    wait_for(lambda: len(rig.sms.sent) == 3)
    assert sorted(n for n in numbers for m in rig.sms.sent if n in m.body) == sorted(numbers)
    rig.client.submit_batch(items)  # a replayed batch tells nobody twice
    time.sleep(0.3)
    assert len(rig.sms.sent) == 3


def test_contacts_the_kiosk_would_refuse_are_not_queued(rig: Rig) -> None:
    data = with_contact("kia", CASES[7][2]) | {
        "contact_phone": "0812-34",
        "contact_email": "bukan email",
        "contact_channel": "sms",
    }
    with pytest.raises(CentralRejected, match="contact_phone"):  # a NUL never gets past the API
        rig.submit("kia", data | {"contact_phone": "0812\x00345"})
    number = rig.submit("kia", data)
    db = rig.app.state.db  # type: ignore[attr-defined]
    with db.transaction() as session:
        app = session.scalar(select(Application).where(Application.registration_number == number))
        assert app is not None
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.application_id == app.id)
        ).all()
        assert queued == []
        assert [e.action for e in lifecycle.history(session, app)] == ["submit"]
