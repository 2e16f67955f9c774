"""The server checks the form values it acts on with the kiosk's own rules, over HTTP.

What the outbox would hand to a gateway or to SMTP is left unused when it fails (the officer
reads why in the history); content an officer relies on (NIKs and KK numbers of other persons,
dates, the delivery choice) holds the application for an officer. Nothing is refused: a queued
send arrives after the citizen has left. SQLite and PostgreSQL (the rig's database_url).
"""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from central_server import lifecycle
from central_server.auth import create_user
from central_server.models import Application
from central_server.review_models import OutboxMessage
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.nik import make_nik
from tests.central.conftest import OFFICE, TODAY, wait_for
from tests.central.officer.conftest import PASSWORD, Staff
from tests.central.test_services_submission import APPLICANT, APPLICANT_NIK, Rig, rig
from tests.domain.service_values import CONTACT

__all__ = ["rig"]  # the fixture, shared with the submission tests

GOOD = sample_birth_values(TODAY) | CONTACT  # passes every rule of the kiosk's form


def stored(rig: Rig, number: str) -> tuple[Application, list[OutboxMessage], str]:
    """The application, its queued notifications and its submit event's note."""
    db = rig.app.state.db  # type: ignore[attr-defined]
    with db.transaction() as session:
        app = session.scalar(select(Application).where(Application.registration_number == number))
        assert app is not None
        messages = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.application_id == app.id))
        )
        [submit] = lifecycle.history(session, app)
        return app, messages, submit.note


def quiet(rig: Rig) -> None:
    """Let the worker pass at least once more (a message it should not send would be out)."""
    time.sleep(0.3)


def told_only_by(rig: Rig, channel: str, changed: dict[str, str]) -> str:
    """Submit GOOD with `changed`: admitted, not held, told through `channel` alone (queued and
    sent); the submit history's note."""
    number = rig.submit("akta_kelahiran", GOOD | changed)
    channels = {"sms": rig.sms, "whatsapp": rig.whatsapp, "email": rig.email}
    wait_for(lambda: len(channels[channel].sent) == 1)
    quiet(rig)
    assert {name: len(c.sent) for name, c in channels.items() if c.sent} == {channel: 1}
    app, messages, note = stored(rig, number)
    assert [m.channel for m in messages] == [channel]
    assert app.hold_reason is None  # the application itself is fine
    return note


def test_values_that_pass_the_kiosk_are_not_held_and_every_contact_is_used(rig: Rig) -> None:
    number = rig.submit("akta_kelahiran", GOOD)
    app, messages, note = stored(rig, number)
    assert app.hold_reason is None and note == ""
    assert sorted((m.channel, m.recipient) for m in messages) == [
        ("email", "siti@example.test"),
        ("whatsapp", "081234567890"),
    ]


@pytest.mark.parametrize("phone", ["99999", "0899999999999999", "+1 555 0100 999", "O8l9999999"])
def test_a_bad_phone_is_not_used_and_the_officer_reads_why(rig: Rig, phone: str) -> None:
    note = told_only_by(rig, "email", {"contact_phone": phone})
    assert "kontak tidak dipakai" in note and "Nomor HP (contact_phone)" in note
    assert phone not in note  # the kiosk's message, not the value


def test_a_phone_reaches_the_gateway_in_national_form_only(rig: Rig) -> None:
    """The kiosk's rule takes +62, spaces and dashes (and drops any whitespace): the gateway
    gets the digits alone, never a line break."""
    number = rig.submit("akta_kelahiran", GOOD | {"contact_phone": "+62 812-3456\r\n7890"})
    wait_for(lambda: len(rig.whatsapp.sent) == 1)
    assert [m.recipient for m in rig.whatsapp.sent] == ["081234567890"]
    assert stored(rig, number)[0].hold_reason is None


@pytest.mark.parametrize(
    "email",
    [
        "siti@example.test\r\nBcc: everyone@example.test",
        "siti@example.test\nSubject: hadiah",
        "Siti <siti@example.test>",
        "siti@example",
        "x" * 60 + "@" + "d" * 60 + "." + "e" * 60 + "." + "f" * 30 + ".id",  # 215: over 200
    ],
)
def test_a_bad_email_never_reaches_smtp(rig: Rig, email: str) -> None:
    note = told_only_by(rig, "whatsapp", {"contact_email": email})
    assert "Email (contact_email)" in note and "\r" not in note and "\n" not in note


@pytest.mark.parametrize("channel", ["telegram", "WhatsApp", "sms\nwhatsapp"])
def test_an_unknown_channel_is_not_used(rig: Rig, channel: str) -> None:
    """The citizen's choice is unknown: no SMS is guessed for them; e-mail still goes."""
    note = told_only_by(rig, "email", {"contact_channel": channel})
    assert "kontak tidak dipakai" in note and "(contact_channel)" in note


def test_no_channel_given_still_means_sms(rig: Rig) -> None:
    """Older kiosks sent no channel: the phone is used by SMS as before."""
    data = {k: v for k, v in GOOD.items() if k != "contact_channel"}
    rig.submit("akta_kelahiran", data)
    wait_for(lambda: len(rig.sms.sent) == 1)
    assert rig.sms.sent[0].recipient == "081234567890"


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("child_birth_date", "2026-02-30", "Tanggal lahir anak"),  # not on the calendar
        ("child_birth_date", "2027-01-05", "Tanggal lahir anak"),  # after the server's today
        ("marriage_date", "30-01-2020", "(marriage_date)"),
        ("child_birth_time", "25:61", "(child_birth_time)"),
    ],
)
def test_an_impossible_date_holds_the_application(
    rig: Rig, field: str, value: str, label: str
) -> None:
    number = rig.submit("akta_kelahiran", GOOD | {field: value})
    app, _, note = stored(rig, number)
    assert app.hold_reason is not None and f"({field})" in app.hold_reason
    assert label in app.hold_reason and app.status == "submitted"
    assert "Ditahan untuk pemeriksaan petugas" in note
    wait_for(lambda: len(rig.whatsapp.sent) == 1)  # and the citizen is told so
    assert "perlu diperiksa petugas" in rig.whatsapp.sent[0].body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mother_nik", "12345"),
        ("father_nik", "3517080000000001"),  # no birth date coded
        ("mother_nik", make_nik("35", "17", "08", date(1992, 7, 4), "L", 3)),  # a man's
        ("witness1_nik", "35170812089500A1"),
        ("kk_number", "351708010110000"),  # 15 digits
        ("kk_number", "9917080101100007"),  # no such province
    ],
)
def test_a_malformed_nik_or_kk_of_another_person_holds_the_application(
    rig: Rig, field: str, value: str
) -> None:
    number = rig.submit("akta_kelahiran", GOOD | {field: value})
    app, _, _ = stored(rig, number)
    assert app.hold_reason is not None and f"({field})" in app.hold_reason
    assert value not in app.hold_reason


def test_a_delivery_choice_that_does_not_exist_holds_the_application(rig: Rig) -> None:
    number = rig.submit("akta_kelahiran", GOOD | {"delivery": "drone"})
    app, _, _ = stored(rig, number)
    assert app.hold_reason is not None and "(delivery)" in app.hold_reason
    assert not lifecycle.wants_delivery(app)


def test_queued_sends_are_held_never_refused(rig: Rig) -> None:
    """The batch of a kiosk that was offline: every item admitted, the bad ones held."""
    slot = rig.client.slots("akta_kelahiran", days=14)[0].slot
    bad = {"child_birth_date": "2026-13-01", "kk_number": "12", "contact_email": "a@b\r\nc"}
    items = [
        (
            uuid.uuid4().hex,
            {
                "service": "akta_kelahiran",
                "applicant_nik": APPLICANT_NIK,
                "applicant_name": APPLICANT,
                "data": GOOD | ({k: v} if k else {}),
                "slot": slot,
            },
        )
        for k, v in [("", ""), *bad.items()]
    ]
    receipts = rig.client.submit_batch(items)
    numbers = [r.registration_number for r in receipts]  # type: ignore[union-attr]
    held = [stored(rig, n)[0].hold_reason for n in numbers]
    assert held[0] is None and held[3] is None  # a bad e-mail only leaves e-mail unused
    assert held[1] and "(child_birth_date)" in held[1]
    assert held[2] and "(kk_number)" in held[2]
    wait_for(lambda: len(rig.whatsapp.sent) == 4 and len(rig.email.sent) == 3)
    quiet(rig)
    assert all(m.recipient == "siti@example.test" for m in rig.email.sent)


def test_the_officer_reads_what_was_held_and_what_was_not_used(rig: Rig) -> None:
    number = rig.submit(
        "akta_kelahiran", GOOD | {"witness2_nik": "123", "contact_email": "x@y\r\nBcc: z@y.id"}
    )
    db = rig.app.state.db  # type: ignore[attr-defined]
    create_user(db, "petugas", PASSWORD, "officer", office_code=OFFICE)
    officer = Staff(rig.client.base_url, "petugas")
    page = officer.get(f"/officer/applications/{number}").text
    assert 'id="hold-reason"' in page and "NIK saksi 2 (witness2_nik)" in page
    assert "kontak tidak dipakai untuk kabar: Email (contact_email)" in page
