"""A calling ticket that did print, reprinted once by the attendant for a citizen who lost it:
the check-in rig (the central server on loopback, the session, the ESC/POS serial driver
printing into the printer emulator on a pty) and the attendant service reprinting from the
print journal, audited; the reprint is rebuilt from what the journal kept, nothing personal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from drivers.card_reader.citizens import citizen
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
from kiosk_app.services.attendant.devices import TicketReprinter
from kiosk_app.services.attendant.service import AttendantService
from tests.drivers.pcsc.fixtures import wait_for
from tests.services.session.checkin_rig import KIOSK, Rig, checkin_rig

PIN = "246810"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with checkin_rig(tmp_path) as made:
        yield made


def attendant_for(rig: Rig) -> AttendantService:
    """The attendant service over the rig's journal and serial ticket printer, signed in."""
    attendant = AttendantService(
        AttendantSettings(staff=[Attendant("PTG-07", hash_pin(PIN), ())]),
        kiosk_id=KIOSK,
        session=rig.service,
        journal=rig.journal,
        ticket_printer=rig.driver,
    )
    assert attendant.unlock_with_pin(PIN)
    return attendant


def test_a_printed_calling_ticket_is_reprinted_once_without_personal_data(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    rig.service.open_checkin()
    view = rig.scan(number)
    assert view.checkin.result is not None and view.checkin.result.printed is True
    wait_for(lambda: len(rig.calling_tickets()) == 1, what="the calling ticket")
    first = rig.calling_tickets()[0].text
    assert number in first and "Antrean di depan Anda" in first

    # what the printed job kept: the number, service, counter group, time; no person, no
    # registration number, no place in the queue
    [job] = [j for j in rig.journal.log() if j.kind == "calling"]
    kept = json.loads(rig.journal.get(job.id).payload or "{}")
    assert kept["calling_number"] == "A-001" and kept["counter_group"] == "Pencatatan Sipil"
    assert kept["registration_number"] == "" and kept["reprint"] is True
    person = citizen(0)
    stored = rig.journal.get(job.id).payload or ""
    assert number not in stored and person.nik not in stored and person.name not in stored

    attendant = attendant_for(rig)
    try:
        [item] = attendant.view().reprints
        assert (item.job_id, item.kind, item.state) == (job.id, "calling", "printed")
        caplog.set_level(logging.INFO, logger="anjungan.audit")
        assert attendant.reprint(job.id)
        assert attendant.view().message == T.REPRINTED.format(reference=job.reference)
        wait_for(lambda: len(rig.calling_tickets()) == 2, what="the reprint")
        again = rig.calling_tickets()[1].text
        assert "A-001" in again and "CETAK ULANG" in again and "Pencatatan Sipil" in again
        assert number not in again and "Antrean di depan Anda" not in again
        assert "action=reprint_calling" in caplog.text and f"job={job.id}" in caplog.text
        assert attendant.status()["reprints"] == "1"

        # one reprint only: no longer offered, refused when asked, nothing more printed
        assert attendant.view().reprints == ()
        assert not attendant.reprint(job.id)
        assert attendant.view().message == T.NOTHING_TO_REPRINT
        assert len(rig.calling_tickets()) == 2
        jobs = [j for j in rig.journal.log() if j.kind == "calling"]
        assert [(j.state, j.reprint_of) for j in jobs] == [("done", None), ("done", job.id)]
        assert all(rig.journal.get(j.id).payload is None for j in jobs)
    finally:
        attendant.close()


def test_a_calling_ticket_of_another_day_is_not_offered_and_its_kept_data_is_wiped(
    rig: Rig,
) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    rig.service.open_checkin()
    rig.scan(number)
    [job] = [j for j in rig.journal.log() if j.kind == "calling"]
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    with rig.journal._tx() as db:  # the same ticket, as if printed yesterday
        db.execute(
            "UPDATE print_jobs SET reference=?, created_at=? WHERE id=?",
            (job.reference.replace(date.today().isoformat(), yesterday), yesterday, job.id),
        )
    reprinter = TicketReprinter(rig.journal, rig.driver)
    assert reprinter.items() == ()
    assert reprinter.reprint(job.id, "attendant:PTG-07")[0] is False
    assert reprinter.expire() == 1
    assert rig.journal.get(job.id).payload is None
    assert len(rig.calling_tickets()) == 1
