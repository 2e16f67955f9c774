"""A queued submission whose slot filled up meanwhile is booked on the nearest free slot
(`if_slot_full="next_free"`), noted in its history and told to the applicant; the attended
kiosk path still refuses. Over HTTP, on SQLite and PostgreSQL, single, batch and outbox paths."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from central_server import lifecycle
from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from central_server.models import Application
from central_server.notify import RecordingChannel
from kiosk_app.central import CentralClient, SlotFull, SubmissionReceipt
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.outbox.records import Attachment, Submission
from kiosk_app.services.outbox.sender import Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from tests.central.conftest import ADMIN_TOKEN, OFFICE, TODAY, wait_for
from tests.domain.service_values import CASES, with_contact

NIK, NAME = "3517081208850001", "BUDI SANTOSO"
SERVICE = "kia"
DATA = with_contact(SERVICE, CASES[6][2]) | {"contact_channel": "sms", "contact_email": ""}
PHONE = DATA["contact_phone"]
MORNING, AFTERNOON = "08.00-11.00", "13.00-15.00"
FRIDAY, MONDAY, TUESDAY = date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)
LAST_DAY = date(2026, 12, 3)  # TODAY + 14 days: the end of the booking horizon


@dataclass
class Rig:
    """A server whose kia quota is 2 a day (1 morning, 1 afternoon) and an enrolled kiosk."""

    app: Any
    server: EmbeddedServer
    client: CentralClient
    sms: RecordingChannel

    def submit(self, slot: Slot, key: str | None = None, **kw: Any) -> Any:
        return self.client.submit(
            service=SERVICE,
            applicant_nik=NIK,
            applicant_name=NAME,
            data=DATA,
            slot=slot,
            idempotency_key=key or uuid.uuid4().hex,
            **kw,
        )

    def post(self, slot: Slot, key: str, **extra: Any) -> requests.Response:
        """The raw single endpoint (to see the whole answer)."""
        body = {
            "service": SERVICE,
            "applicant_nik": NIK,
            "applicant_name": NAME,
            "data": DATA,
            "slot": {"date": slot.date.isoformat(), "window": slot.window},
            **extra,
        }
        return requests.post(
            f"{self.server.base_url}/api/v1/applications",
            json=body,
            headers={"Authorization": f"Bearer {self.client.token}", "Idempotency-Key": key},
            timeout=10,
        )

    def set_quota(self, daily: int) -> None:
        requests.put(
            f"{self.server.base_url}/api/v1/offices/{OFFICE}/quotas/{SERVICE}",
            json={"daily_quota": daily},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        ).raise_for_status()

    def stored(self, number: str) -> tuple[date, str, list[tuple[str, str]]]:
        """Slot and (action, note) history of an application as the server keeps them."""
        with self.app.state.db.transaction() as session:
            app = session.scalar(
                select(Application).where(Application.registration_number == number)
            )
            assert app is not None
            events = [(e.action, e.note) for e in lifecycle.history(session, app)]
            return app.slot_date, app.slot_window, events

    def messages_for(self, number: str) -> list[str]:
        return [m.body for m in self.sms.sent if number in m.body]


@pytest.fixture
def rig(database_url: str) -> Iterator[Rig]:
    sms = RecordingChannel()
    app = create_app(
        database_url,
        today=lambda: TODAY,
        admin_token=ADMIN_TOKEN,
        channels={"sms": sms, "whatsapp": RecordingChannel(), "email": RecordingChannel()},
        secret_key="test-session-key-0123456789abcdef",
        open_enrolment=True,
    )
    app.state.review.worker.poll_s = 0.05
    server = EmbeddedServer(app, "127.0.0.1", 0).start()
    client = CentralClient(server.base_url, "kiosk-moved", OFFICE, timeout=10)
    try:
        client.register("Anjungan lobi")
        rig = Rig(app, server, client, sms)
        rig.set_quota(2)
        yield rig
    finally:
        client.close()
        server.stop()


def moved_text(day: str, window: str) -> str:
    return f"jadwal verifikasi Anda dipindah ke {day} pukul {window} WIB"


def test_a_full_slot_moves_to_the_same_days_later_window_and_the_applicant_is_told(
    rig: Rig,
) -> None:
    rig.submit(Slot(MONDAY, MORNING))  # the only morning place
    with pytest.raises(SlotFull):  # the attended kiosk path still asks for another slot
        rig.submit(Slot(MONDAY, MORNING))
    key = uuid.uuid4().hex
    answer = rig.post(Slot(MONDAY, MORNING), key, if_slot_full="next_free")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["slot"] == {"date": "2026-11-23", "window": AFTERNOON}
    assert body["moved_from"] == {"date": "2026-11-23", "window": MORNING}
    number = body["registration_number"]
    assert body["queue_number"].startswith("B-")  # the afternoon window's letter
    day, window, events = rig.stored(number)
    assert (day, window) == (MONDAY, AFTERNOON)
    assert events == [
        (
            "submit",
            "Jadwal dipindah dari 2026-11-23 08.00-11.00 karena kuota "
            "penuh (moved from 2026-11-23 08.00-11.00: quota full)",
        )
    ]
    wait_for(lambda: len(rig.messages_for(number)) == 1)
    text = rig.messages_for(number)[0]
    assert "Kuota Senin, 23 November 2026 pukul 08.00-11.00 WIB sudah penuh" in text
    assert moved_text("Senin, 23 November 2026", AFTERNOON) in text
    assert "Jadwal verifikasi: Senin, 23 November 2026, pukul 13.00-15.00 WIB" in text
    assert NIK not in text and "BUDI" not in text
    # The same row resent (either policy) is the same request: replayed, nothing doubled.
    for policy in ("next_free", "refuse"):
        again = rig.post(Slot(MONDAY, MORNING), key, if_slot_full=policy)
        assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == body
    time.sleep(0.2)
    assert len(rig.messages_for(number)) == 1


def test_a_full_friday_moves_over_the_weekend_and_an_unchanged_slot_says_nothing(
    rig: Rig,
) -> None:
    rig.submit(Slot(FRIDAY, MORNING))  # Friday has only the morning window
    moved = rig.submit(Slot(FRIDAY, MORNING), if_slot_full="next_free")
    assert moved.slot == Slot(MONDAY, MORNING)
    plain = rig.submit(Slot(TUESDAY, MORNING), if_slot_full="next_free")  # room: not moved
    assert plain.slot == Slot(TUESDAY, MORNING)
    assert rig.stored(plain.registration_number)[2] == [("submit", "")]
    answer = rig.post(Slot(TUESDAY, AFTERNOON), uuid.uuid4().hex, if_slot_full="next_free")
    assert answer.json()["moved_from"] is None
    wait_for(
        lambda: (
            len(rig.messages_for(plain.registration_number)) == 1
            and len(rig.messages_for(moved.registration_number)) == 1
        )
    )
    assert "dipindah" not in rig.messages_for(plain.registration_number)[0]
    assert (
        moved_text("Senin, 23 November 2026", MORNING)
        in rig.messages_for(moved.registration_number)[0]
    )


def test_with_no_free_slot_left_in_the_horizon_the_answer_is_slot_full(rig: Rig) -> None:
    rig.submit(Slot(LAST_DAY, AFTERNOON))
    answer = rig.post(Slot(LAST_DAY, AFTERNOON), uuid.uuid4().hex, if_slot_full="next_free")
    assert answer.status_code == 409 and answer.json()["detail"]["code"] == "slot_full"
    rig.set_quota(0)
    with pytest.raises(SlotFull):
        rig.submit(Slot(MONDAY, MORNING), if_slot_full="next_free")
    with rig.app.state.db.transaction() as session:
        assert len(session.scalars(select(Application)).all()) == 1


def test_the_batch_moves_each_full_item_to_the_next_free_place(rig: Rig) -> None:
    def item(n: int, **extra: Any) -> tuple[str, dict[str, Any]]:
        return (
            f"batch-moved-{n}",
            {
                "service": SERVICE,
                "applicant_nik": NIK,
                "applicant_name": NAME,
                "data": DATA,
                "slot": Slot(MONDAY, MORNING),
                **extra,
            },
        )

    first = rig.submit(Slot(MONDAY, MORNING), key="batch-moved-0")  # sent alone before
    items = [
        item(0, if_slot_full="next_free"),
        item(1, if_slot_full="next_free"),
        item(2),
        item(3, if_slot_full="next_free"),
    ]
    answers = rig.client.submit_batch(items)
    assert isinstance(answers[2], SlotFull)  # "refuse" (the default) still refuses
    replayed, *moved = [a for a in answers if isinstance(a, SubmissionReceipt)]
    assert replayed.registration_number == first.registration_number
    assert [a.slot for a in moved] == [Slot(MONDAY, AFTERNOON), Slot(TUESDAY, MORNING)]
    for answer in moved:
        slot_date, slot_window, events = rig.stored(answer.registration_number)
        assert Slot(slot_date, slot_window) == answer.slot
        assert events[0][1].startswith("Jadwal dipindah dari 2026-11-23 08.00-11.00 karena")
    wait_for(lambda: all(rig.messages_for(a.registration_number) for a in moved))
    text = rig.messages_for(moved[1].registration_number)[0]
    assert moved_text("Selasa, 24 November 2026", MORNING) in text
    again = rig.client.submit_batch(items[:2])[1]  # replayed with the slot booked, not moved again
    assert isinstance(again, SubmissionReceipt) and again.slot == Slot(MONDAY, AFTERNOON)


def test_an_offline_queued_row_whose_slot_filled_is_sent_with_the_moved_slot(
    rig: Rig, tmp_path: Path
) -> None:
    box = Outbox(tmp_path / "outbox.db", bytes(32), "kiosk-moved")
    sender = OutboxSender(box, rig.client, backoff=Backoff(base_s=0.01, cap_s=0.05), workers=1)

    def queued(slot: Slot, scans: bool = False) -> Any:
        entry = box.enqueue(
            Submission(SERVICE, NIK, NAME, DATA, slot, "2026-11-19T09:00:00+07:00"),
            attachments=[Attachment("kk", "application/pdf", b"%PDF-1.4 x")] if scans else (),
        )
        return entry

    try:
        batched = queued(Slot(MONDAY, MORNING))  # the citizen left with an OFFLINE ticket
        alone = queued(Slot(FRIDAY, MORNING), scans=True)  # scans: sent by the single path
        attended = queued(Slot(TUESDAY, MORNING))
        rig.submit(Slot(MONDAY, MORNING))  # meanwhile other kiosks fill both slots
        rig.submit(Slot(FRIDAY, MORNING))
        rig.submit(Slot(TUESDAY, MORNING))
        assert sender.send(box.get(attended.id), attended=True).kind == "returned"
        assert sender.drain_once() == 2
        assert box.counts() == {"sent": 2, "returned": 1}
        row = box.get(batched.id)
        assert (row.status, row.slot) == ("sent", Slot(MONDAY, AFTERNOON))
        assert rig.stored(row.registration_number or "")[:2] == (MONDAY, AFTERNOON)
        single = box.get(alone.id)
        assert (single.status, single.slot) == ("sent", Slot(TUESDAY, AFTERNOON))
        assert rig.stored(single.registration_number or "")[:2] == (TUESDAY, AFTERNOON)
        wait_for(lambda: len(rig.messages_for(row.registration_number or "")) == 1)
        assert (
            moved_text("Senin, 23 November 2026", AFTERNOON)
            in rig.messages_for(row.registration_number or "")[0]
        )
    finally:
        box.close()


def test_a_queued_row_whose_day_passed_offline_moves_to_the_first_bookable_slot(
    rig: Rig,
) -> None:
    """The kiosk was offline past the chosen day: the row is booked on the first free slot
    from now on (single and batch paths); the attended path still says the slot is gone."""
    past = Slot(date(2026, 11, 18), MORNING)  # yesterday (the server's today is the 19th)
    refused = rig.post(past, uuid.uuid4().hex)
    assert refused.status_code == 409
    assert refused.json()["detail"]["code"] == "slot_unavailable"
    answer = rig.post(past, uuid.uuid4().hex, if_slot_full="next_free")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["moved_from"] == {"date": "2026-11-18", "window": MORNING}
    first = date.fromisoformat(body["slot"]["date"])
    assert first >= TODAY
    batch = rig.client.submit_batch(
        [
            (
                "batch-past-0",
                {
                    "service": SERVICE,
                    "applicant_nik": NIK,
                    "applicant_name": NAME,
                    "data": DATA,
                    "slot": past,
                    "if_slot_full": "next_free",
                },
            )
        ]
    )[0]
    assert isinstance(batch, SubmissionReceipt)
    # one place per window: the batch's row takes the next free place after the first one's
    assert batch.slot.date >= first and batch.slot != Slot(first, body["slot"]["window"])
    _day, _window, events = rig.stored(batch.registration_number)
    assert events[0][1].startswith("Jadwal dipindah dari 2026-11-18 08.00-11.00")
