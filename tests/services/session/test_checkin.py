"""The verification day's check-in through the session service: the real central server on
loopback (its POST /api/v1/checkin, its clock set to the booked day), the real barcode scanner
driver on a pty emulator, the ESC/POS serial driver printing into the printer emulator on a pty,
and the real pcscd with the virtual e-KTP for the card tap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from drivers.card_reader.citizens import citizen
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from kiosk_app.domain.session import SessionState
from kiosk_app.services import receipt_seal
from kiosk_app.services.printing.service import (
    CALLING_TICKET_FAILED,
    CALLING_TICKET_PRINTED_BEFORE,
    PrintingService,
)
from kiosk_app.services.session import checkin_words as ck
from kiosk_app.services.session import number_entry as ne
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.central.officer.conftest import sealed_receipt
from tests.drivers.pcsc.fixtures import reset_bed, wait_for
from tests.services.session.checkin_rig import (
    AFTERNOON,
    BOOKED_ON,
    KIOSK,
    Rig,
    Watched,
    central_server,
    checkin_rig,
)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    with checkin_rig(tmp_path) as made:
        yield made


def test_typed_number_gives_the_calling_number_printed_and_said_in_words(rig: Rig) -> None:
    number, day = rig.book()
    rig.at(day, 8, 30)
    rig.service.open_checkin()
    view = rig.service.view
    assert view.state is SessionState.CHECKIN and view.checkin is not None
    assert view.checkin.entry == "AKTA-35.17.______.____"  # the office's digits pre-typed
    rig.service.checkin_key("done")
    assert rig.service.view.checkin.message == ne.MSG_INCOMPLETE.format(missing=10)
    prefix, digits = number.split("-", 1)
    rig.service.checkin_prefix(prefix)
    rig.service.checkin_key("clear")
    for digit in digits.replace(".", ""):
        rig.service.checkin_key(digit)
    rig.service.checkin_key("done")
    view = rig.checked_in()
    result = view.checkin.result
    assert result is not None and view.checkin.message is None
    assert result.calling_number == "A-001" and result.registration_number == number
    assert (result.counter_group, result.people_ahead, result.repeat) == (
        "Pencatatan Sipil",
        0,
        False,
    )
    assert result.printed is True
    assert result.announcement.id.startswith("Nomor antrean Anda A satu.")
    assert "loket Pencatatan Sipil" in result.announcement.id
    wait_for(lambda: len(rig.calling_tickets()) == 1, what="the calling ticket on paper")
    paper = rig.calling_tickets()[0].text
    for printed in (
        "NOMOR PANGGILAN VERIFIKASI",
        "A-001",
        "Akta Kelahiran",
        "Pencatatan Sipil",
        "Segera dipanggil",
        number,
        "DINAS KEPENDUDUKAN",
    ):
        assert printed in paper, (printed, paper)
    assert rig.calls.reasons == []

    rig.service.close_checkin()
    assert rig.service.view.state is SessionState.ATTRACT
    assert rig.service.view.checkin is None


def test_the_tickets_qr_over_the_serial_scanner_checks_in_and_again_gives_the_same(
    rig: Rig,
) -> None:
    first, day = rig.book()
    second, _ = rig.book()
    rig.at(day, 7, 5)
    rig.service.open_checkin()
    view = rig.scan("]Q1" + second)  # the pre-application ticket's QR, as bytes
    assert view.checkin.result is not None
    assert view.checkin.result.calling_number == "A-002"
    assert view.checkin.entry == second  # the read number is shown on the entry
    rig.service.close_checkin()

    rig.service.open_checkin()
    view = rig.scan(first)
    assert view.checkin.result.calling_number == "A-001"
    assert view.checkin.result.people_ahead == 1  # A-002 came first
    assert "Ada 1 orang di depan Anda, perkiraan menunggu 10 menit" in (
        view.checkin.result.announcement.id
    )
    paper = rig.calling_tickets()[-1].text
    assert "1 orang" in paper and "+/- 10 menit" in paper
    rig.service.close_checkin()

    rig.service.open_checkin()
    view = rig.scan(first)
    assert view.checkin.result.repeat and view.checkin.result.calling_number == "A-001"
    assert view.checkin.result.announcement.id.startswith(ck.ANNOUNCEMENT_REPEAT.id)
    # journalled like every ticket: the same calling number is not printed twice unasked
    assert view.checkin.result.printed is False
    assert view.checkin.message == CALLING_TICKET_PRINTED_BEFORE and rig.calls.reasons == []
    jobs = [j for j in rig.journal.log() if j.kind == "calling"]
    assert [(j.reference.split("/")[:2], j.state) for j in jobs] == [
        (["A-002", second], "done"),
        (["A-001", first], "done"),
    ]
    assert len(rig.calling_tickets()) == 2

    rig.service.checkin_key("clear")  # the repeat's message goes
    rig.wait(lambda v: v.checkin is not None and v.checkin.message is None, "cleared")
    rig.scanner.scan("WIFI:S:lobby;;")  # someone's other QR: not even asked
    view = rig.wait(lambda v: v.checkin is not None and v.checkin.message is not None)
    assert view.checkin.message == ne.MSG_NOT_OUR_CODE and view.checkin.result is None


def test_too_early_another_day_too_late_and_not_found_are_said_with_what_to_do(
    rig: Rig,
) -> None:
    number, day = rig.book(AFTERNOON)
    rig.service.open_checkin()

    rig.at(day, 9, 0)  # check-in for 13.00 opens at 12.00
    view = rig.scan(number)
    assert view.checkin.result is None
    assert view.checkin.message == ck.MSG_TOO_EARLY.format(window=AFTERNOON, come_back_at="12.00")
    assert "kembali pukul 12.00" in view.checkin.message.id

    rig.at(date(2026, 11, 19), 9, 0)  # the Thursday before
    view = rig.scan(number)
    message = view.checkin.message
    assert message is not None and message.id.startswith("Jadwal verifikasi Anda bukan hari ini")
    assert f"{day.day} " in message.id and "pukul 13.00-15.00 WIB" in message.id
    assert "petugas dapat menjadwalkan ulang" in message.id and "tidak hilang" in message.id

    rig.at(day, 15, 30)
    view = rig.scan(number)
    assert view.checkin.message == ck.MSG_TOO_LATE.format(window=AFTERNOON)

    view = rig.scan("AKTA-35.17.261119.9999")
    assert view.checkin.message == ne.MSG_NOT_FOUND.format(number="AKTA-35.17.261119.9999")
    assert rig.calling_tickets() == [] and rig.calls.reasons == []


def test_not_approved_yet_is_not_ready(rig: Rig) -> None:
    rig.clock["today"] = BOOKED_ON
    slot = rig.central.slots("akta_kelahiran")[0].slot
    receipt = rig.central.submit(
        service="akta_kelahiran",
        applicant_nik=citizen(0).nik,
        applicant_name=citizen(0).name,
        data={},
        slot=slot,
        idempotency_key="checkin-not-ready",
    )
    rig.at(slot.date, 9)
    rig.service.open_checkin()
    rig.scanner.scan(receipt.registration_number)
    assert rig.checked_in().checkin.message == ck.MSG_NOT_READY


def test_the_card_holder_from_the_menu_is_checked_in_at_once(rig: Rig) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    rig.service.simulate_card_tap(0)
    rig.wait(lambda v: v.state is SessionState.IDENTITY, "identity")
    rig.service.continue_to_menu()
    rig.service.choose_service("checkin")  # the menu's tile
    view = rig.checked_in()
    assert view.state is SessionState.CHECKIN and view.name  # the visit goes on
    assert view.checkin.result is not None and view.checkin.result.registration_number == number
    rig.service.close_checkin()
    assert rig.service.view.state is SessionState.MENU


def test_server_unreachable_says_check_in_needs_it_and_calls_the_attendant(
    rig: Rig,
) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    rig.central.base_url = "http://127.0.0.1:9"  # nothing listens there
    rig.service.open_checkin()
    view = rig.scan(number)
    assert view.checkin.message == ck.MSG_SERVER_DOWN and view.checkin.attendant_called
    assert "server pusat" in view.checkin.message.id
    wait_for(lambda: len(rig.calls.reasons) == 1, what="the attendant call")
    assert "central server unreachable" in rig.calls.reasons[0]
    assert rig.calling_tickets() == []


def test_paper_out_keeps_the_number_on_screen_and_calls_the_attendant(rig: Rig) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    rig.printer.set_fault("paper_out", True)
    rig.service.open_checkin()
    view = rig.scan(number)
    assert view.checkin.result is not None and view.checkin.result.calling_number == "A-001"
    assert view.checkin.result.printed is False
    assert view.checkin.message == CALLING_TICKET_FAILED
    wait_for(lambda: any("not printed" in r for r in rig.calls.reasons), what="attendant call")
    [failed] = rig.journal.pending()
    assert (failed.kind, failed.state, failed.reason) == ("calling", "failed", "PaperOut")
    assert failed.reference == f"A-001/{number}/{datetime.now().date().isoformat()}"
    assert rig.calling_tickets() == []

    # paper loaded: checking in again prints the owed ticket, as the failed job's reprint
    rig.printer.set_fault("paper_out", False)
    rig.service.close_checkin()
    rig.service.open_checkin()
    view = rig.scan(number)
    assert view.checkin.result is not None and view.checkin.result.repeat
    assert view.checkin.result.printed is True and view.checkin.message is None
    wait_for(lambda: len(rig.calling_tickets()) == 1, what="the owed calling ticket")
    assert "A-001" in rig.calling_tickets()[0].text
    assert rig.journal.pending() == []
    jobs = [j for j in rig.journal.log() if j.kind == "calling"]
    assert [(j.state, j.reprint_of) for j in jobs] == [("reprinted", None), ("done", failed.id)]


def test_a_calling_ticket_lost_to_paper_out_is_reprinted_by_the_attendant(rig: Rig) -> None:
    from kiosk_app.services.attendant.devices import TicketReprinter

    number, day = rig.book()
    rig.at(day, 9)
    rig.printer.set_fault("paper_out", True)
    rig.service.open_checkin()
    assert rig.scan(number).checkin.result.printed is False
    reprinter = TicketReprinter(rig.journal, rig.driver)
    [item] = reprinter.items()
    assert (item.kind, item.state) == ("calling", "failed")
    assert item.reference.startswith(f"A-001/{number}/")
    assert reprinter.kind_of(item.job_id) == "calling"

    printed, _message, _ref = reprinter.reprint(item.job_id, "attendant:PTG-07")
    assert not printed  # still no paper: failed again, still owed
    [again] = reprinter.items()
    assert again.state == "failed" and again.job_id != item.job_id

    rig.printer.set_fault("paper_out", False)
    printed, _message, reference = reprinter.reprint(again.job_id, "attendant:PTG-07")
    assert printed and reference == item.reference
    wait_for(lambda: len(rig.calling_tickets()) == 1, what="the reprinted calling ticket")
    paper = rig.calling_tickets()[0].text
    assert "A-001" in paper and number in paper and "Pencatatan Sipil" in paper
    assert reprinter.items() == () and rig.journal.pending() == []
    assert reprinter.reprint(again.job_id, "attendant:PTG-07")[0] is False  # never twice


def test_the_e_ktp_tapped_on_real_pcscd_checks_in_the_holders_booking(
    pcsc_testbed: Any, tmp_path: Path
) -> None:
    from drivers.card_reader.pcsc import PcscCardReader, PcscSettings
    from drivers.ticket_printer.simulator import SimulatedTicketPrinter

    reset_bed(pcsc_testbed)
    reader = PcscCardReader(PcscSettings())
    tickets = SimulatedTicketPrinter()  # its bytes rendered by the emulator
    with central_server(tmp_path) as server:
        number, day = server.book()
        server.at(day, 8, 15)
        service = SessionService(
            card_reader=reader,
            central=server.central,
            printing=PrintingService(tickets, SimulatedDocumentPrinter(), kiosk_id=KIOSK),
        )
        session = Watched(service)
        service.start()
        try:
            wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="reader ready")
            service.open_checkin()
            assert pcsc_testbed.insert(0)
            view = session.checked_in()
            assert view.state is SessionState.CHECKIN and view.name == ""  # no visit opened
            assert view.checkin is not None and view.checkin.result is not None
            assert view.checkin.result.registration_number == number
            assert tickets.calling_tickets[0].calling_number == "A-001"
            pcsc_testbed.remove()
            wait_for(lambda: reader.status()["pcsc_state"] == "no_card", what="card lifted")
            assert service.view.state is SessionState.CHECKIN  # lifting the card ends nothing
        finally:
            pcsc_testbed.remove()
            service.close()


def test_the_attendant_gives_the_priority_lane_to_the_number_on_screen(rig: Rig) -> None:
    from kiosk_app.services.attendant import texts as attendant_texts
    from kiosk_app.services.attendant.auth import Attendant, AttendantSettings, hash_pin
    from kiosk_app.services.attendant.service import AttendantService

    first, day = rig.book()
    second, _ = rig.book()
    rig.at(day, 8, 0)
    rig.service.open_checkin()
    rig.scan(first)
    rig.service.close_checkin()
    rig.service.open_checkin()
    view = rig.scan(second)
    assert view.checkin.result is not None and view.checkin.result.people_ahead == 1
    attendant = AttendantService(
        AttendantSettings(staff=[Attendant("PTG-07", hash_pin("246810"), ())]),
        kiosk_id=KIOSK,
        session=rig.service,
        journal=None,
        ticket_printer=None,
    )
    try:
        assert not attendant.grant_priority("lansia")  # locked: nothing happens
        assert attendant.unlock_with_pin("246810")
        assert attendant.grant_priority("lansia")
        assert attendant.view().message == attendant_texts.PRIORITY_GIVEN
        view = rig.wait(
            lambda v: (
                v.checkin is not None
                and v.checkin.result is not None
                and v.checkin.result.priority is not None
            ),
            "the priority lane on screen",
        )
        result = view.checkin.result
        assert result.people_ahead == 0 and result.calling_number == "A-002"
        assert result.priority == ck.PRIORITY_LANES["lansia"]
        assert result.announcement.id.startswith("Anda di jalur prioritas lansia.")
        rig.service.close_checkin()
        assert not attendant.grant_priority("lansia")  # no number on screen any more
        assert attendant.view().message == ck.MSG_NO_NUMBER_SHOWN
    finally:
        attendant.close()


def test_a_receipts_signed_seal_checks_in(rig: Rig) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    sealed = sealed_receipt(number, day, KIOSK, rig.server.key)  # this kiosk's key: it verifies
    rig.service.open_checkin()
    view = rig.scan(receipt_seal.qr_text(sealed, "https://anjungan.example.go.id"))
    assert view.checkin.result is not None, view.checkin.message
    assert view.checkin.result.registration_number == number
    assert view.checkin.entry == number  # the seal's reference shown on the entry
    rig.service.close_checkin()

    forged = sealed_receipt(number, day, KIOSK, receipt_seal.new_key())  # not this kiosk's key
    rig.service.open_checkin()
    view = rig.scan(forged)
    assert view.checkin.message == ck.MSG_BAD_SEAL and view.checkin.result is None


def test_a_seal_of_a_key_pending_approval_calls_the_attendant(rig: Rig) -> None:
    number, day = rig.book()
    rig.at(day, 9)
    lost_and_remade = receipt_seal.new_key()  # submitted without proof of the old key
    public = receipt_seal.public_key_text(lost_and_remade)
    assert rig.central.put_signing_key(public) == "pending"
    claims = receipt_seal.ReceiptClaims(  # printed after the new key was submitted
        reference=number,
        office="3517",
        service="akta_kelahiran",
        day=day,
        window="08.00-11.00",
        issued_at=datetime.now(UTC).replace(microsecond=0),
        kiosk_id=KIOSK,
    )
    sealed = receipt_seal.seal(claims, lost_and_remade)
    rig.service.open_checkin()
    view = rig.scan(sealed)
    assert view.checkin.message == ck.MSG_SEAL_PENDING and view.checkin.result is None
    assert view.checkin.attendant_called and "menunggu persetujuan" in view.checkin.message.id
    wait_for(lambda: len(rig.calls.reasons) == 1, what="the attendant call")
    assert rig.calling_tickets() == []


def on_attract_scan(rig: Rig, text: str) -> SessionView:
    """Read `text` with the serial scanner on the attract screen; the view it ends in (the
    check-in's answer, or the status check's)."""
    rig.wait(lambda v: v.state is SessionState.ATTRACT, "the attract screen")
    rig.scanner.scan(text)
    return rig.wait(
        lambda v: (
            (
                v.checkin is not None
                and not v.checkin.loading
                and (v.checkin.result is None or v.checkin.result.printed is not None)
                and (v.checkin.result is not None or v.checkin.message is not None)
            )
            or (
                v.status_check is not None
                and not v.status_check.loading
                and (v.status_check.result is not None or v.status_check.message is not None)
            )
        ),
        "the check-in's or the status check's answer",
    )


def test_a_qr_on_the_attract_screen_checks_in_when_due_today_and_shows_the_status_otherwise(
    rig: Rig,
) -> None:
    number, day = rig.book()
    other, other_day = rig.book(AFTERNOON)

    rig.at(BOOKED_ON, 10)  # the day it was booked, not its verification day: the status
    view = on_attract_scan(rig, "]Q1" + number)
    assert view.state is SessionState.STATUS and view.checkin is None
    assert view.status_check.result is not None
    assert (view.status_check.result.registration_number, view.status_check.result.status) == (
        number,
        "approved",
    )
    assert view.status_check.result.slot is not None
    assert view.status_check.result.slot.date == day
    rig.service.close_status()

    rig.at(day, 9)  # the verification morning: the same QR gives the calling number
    sealed = sealed_receipt(number, day, KIOSK, rig.server.key)
    view = on_attract_scan(rig, receipt_seal.qr_text(sealed, "https://anjungan.example.go.id"))
    assert view.state is SessionState.CHECKIN and view.status_check is None
    assert view.checkin.result is not None and view.checkin.result.calling_number == "A-001"
    assert view.checkin.result.printed is True and view.checkin.entry == number
    wait_for(lambda: len(rig.calling_tickets()) == 1, what="the calling ticket on paper")
    rig.service.close_checkin()
    assert rig.service.view.state is SessionState.ATTRACT

    # due today but before its window opens: the check-in says when to come back
    rig.at(other_day, 9)
    view = on_attract_scan(rig, other)
    assert view.state is SessionState.CHECKIN and view.checkin.result is None
    assert view.checkin.message == ck.MSG_TOO_EARLY.format(window=AFTERNOON, come_back_at="12.00")
    rig.service.close_checkin()

    # not one of ours, or unknown: the status check says so, as before
    view = on_attract_scan(rig, "WIFI:S:lobby;;")
    assert view.state is SessionState.STATUS
    assert view.status_check.message == ne.MSG_NOT_OUR_CODE
    rig.service.close_status()
    view = on_attract_scan(rig, "AKTA-35.17.261119.9999")
    assert view.state is SessionState.STATUS
    assert view.status_check.message == ne.MSG_NOT_FOUND.format(number="AKTA-35.17.261119.9999")
    assert len(rig.calling_tickets()) == 1 and rig.calls.reasons == []


def test_a_qr_on_the_attract_screen_with_the_server_down_shows_the_status_message(
    rig: Rig,
) -> None:
    from kiosk_app.services.session import status_check as sc

    number, day = rig.book()
    rig.at(day, 9)
    rig.central.base_url = "http://127.0.0.1:9"  # nothing listens there
    view = on_attract_scan(rig, number)
    assert view.state is SessionState.STATUS
    assert view.status_check.message == sc.MSG_SERVER_DOWN
    assert rig.calls.reasons == []  # a status check calls nobody
