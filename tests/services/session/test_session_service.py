"""The session service with simulated devices and a real central server over loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central_server.embedded import start_embedded
from drivers.card_reader.citizens import citizen
from drivers.card_reader.simulator import SimulatedCardReader
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.session import EndReason, SessionState, Timeouts
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView

TIMEOUTS = Timeouts(inactivity_s=60, warning_s=25, goodbye_s=5)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    service: SessionService
    reader: SimulatedCardReader
    ticket: SimulatedTicketPrinter
    a4: SimulatedDocumentPrinter
    clock: FakeClock
    journal: PrintJournal
    server: object
    views: list[SessionView]
    changed: threading.Condition
    central: CentralClient | None = None

    def wait(self, predicate, timeout: float = 60.0) -> SessionView:
        """Wait until a published view satisfies `predicate`."""
        with self.changed:
            ok = self.changed.wait_for(lambda: predicate(self.service.view), timeout)
        assert ok, f"timed out; last view state {self.service.view.state}"
        return self.service.view

    def to_form(self) -> None:
        self.service.simulate_card_tap(0)
        self.wait(lambda v: v.state is SessionState.IDENTITY)
        self.service.continue_to_menu()
        self.service.choose_service("akta_kelahiran")
        assert self.service.view.state is SessionState.FORM

    def fill_all_pages(self) -> None:
        form = SERVICES["akta_kelahiran"].form
        assert form is not None
        values = sample_birth_values()
        for index in range(len(form.pages)):
            assert self.service.view.page == index
            for name in form.page_fields(index):
                self.service.set_value(name, values[name])
            self.service.next_page()
            assert not self.service.view.errors, self.service.view.errors


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}")
    central = CentralClient(server.base_url, "KIOSK-TEST-01", "3517")
    central.register("test kiosk")
    reader = SimulatedCardReader(read_delay_s=0.01)
    ticket = SimulatedTicketPrinter(tmp_path / "out")
    a4 = SimulatedDocumentPrinter(tmp_path / "out")
    clock = FakeClock()
    journal = PrintJournal(tmp_path / "journal.db", "KIOSK-TEST-01")
    service = SessionService(
        card_reader=reader,
        central=central,
        printing=PrintingService(ticket, a4, kiosk_id="KIOSK-TEST-01", journal=journal),
        timeouts=TIMEOUTS,
        clock=clock,
    )
    changed = threading.Condition()
    views: list[SessionView] = []

    def listener(view: SessionView) -> None:
        with changed:
            views.append(view)
            changed.notify_all()

    service.subscribe(listener)
    service.start()
    try:
        yield Rig(service, reader, ticket, a4, clock, journal, server, views, changed, central)
    finally:
        service.close()
        journal.close()
        server.stop()


def test_whole_journey_submits_once_and_prints_ticket_and_receipt(rig: Rig) -> None:
    rig.to_form()
    view = rig.service.view
    assert view.values["father_name"] == "BUDI SANTOSO"  # prefilled from the card
    rig.fill_all_pages()
    view = rig.wait(lambda v: v.state is SessionState.SCHEDULE and v.slots)
    first = view.slots[0]
    rig.service.choose_slot(first.slot)
    view = rig.service.view
    assert view.state is SessionState.REVIEW
    assert any("RAFA ADITYA SANTOSO" in value for _, value in view.summary)
    rig.service.submit()
    view = rig.wait(lambda v: v.state is SessionState.RESULT)
    outcome = view.outcome
    assert outcome is not None and outcome.ticket_printed and outcome.receipt_printed
    assert outcome.registration_number.startswith("AKTA-35.17.")
    assert outcome.slot == first.slot
    assert len(rig.ticket.printed) == 1 and len(rig.a4.printed) == 1
    title, pdf = rig.a4.printed[0]
    assert pdf.startswith(b"%PDF") and outcome.registration_number in title
    journalled = {(job.kind, job.reference, job.state) for job in rig.journal.log()}
    assert journalled == {
        ("ticket", outcome.registration_number, "done"),
        ("receipt", outcome.registration_number, "done"),
    }
    # The server knows the application and the slot has one place less.
    status = rig.central.status(outcome.registration_number)
    assert status.status == "submitted"
    after = {s.slot: s.remaining for s in rig.central.slots("akta_kelahiran")}
    assert after.get(first.slot, 0) == first.remaining - 1
    rig.service.finish()
    view = rig.service.view
    assert view.state is SessionState.GOODBYE and view.name == "" and view.photo_jpeg == b""
    rig.clock.now += TIMEOUTS.goodbye_s
    rig.service.tick()
    assert rig.service.view.state is SessionState.ATTRACT


def test_invalid_page_stays_with_messages_next_to_the_fields(rig: Rig) -> None:
    rig.to_form()
    rig.service.set_value("kk_head_name", "")
    rig.service.set_value("kk_number", "12")
    rig.service.next_page()
    view = rig.service.view
    assert view.state is SessionState.FORM and view.page == 0
    assert set(view.errors) == {"kk_head_name", "kk_number"}
    assert all(msg.id and msg.en for msg in view.errors.values())
    rig.service.set_value("kk_number", sample_birth_values()["kk_number"])
    assert "kk_number" not in rig.service.view.errors


def test_card_removed_mid_form_ends_session_and_wipes(rig: Rig) -> None:
    rig.to_form()
    identity = rig.service.core.machine.identity
    assert identity is not None and identity.name
    rig.service.set_value("child_name", "RAFA")
    rig.reader.remove_card()
    view = rig.wait(lambda v: v.state is SessionState.GOODBYE)
    assert view.goodbye is not None and "dilepas" in view.goodbye.id
    assert view.name == "" and view.values == {} and view.masked_nik == ""
    assert identity.nik == "" and identity.name == "" and identity.photo_jpeg == b""


def test_inactivity_warns_first_can_be_extended_then_ends(rig: Rig) -> None:
    rig.to_form()
    rig.clock.now += TIMEOUTS.inactivity_s
    rig.service.tick()
    assert rig.service.view.warning_seconds_left == TIMEOUTS.warning_s
    for _ in range(10):  # "Saya masih di sini" keeps working, again and again
        rig.service.still_here()
        assert rig.service.view.warning_seconds_left is None
        rig.clock.now += TIMEOUTS.inactivity_s
        rig.service.tick()
        assert rig.service.view.state is SessionState.FORM
    rig.clock.now += TIMEOUTS.warning_s - 1
    rig.service.tick()
    assert rig.service.view.warning_seconds_left == 1
    rig.clock.now += 1
    rig.service.tick()
    view = rig.service.view
    assert view.state is SessionState.GOODBYE
    assert rig.service.core.machine.end_reason is EndReason.INACTIVITY
    assert view.goodbye is not None and "aktivitas" in view.goodbye.id


def test_paper_out_still_gives_registration_and_receipt(rig: Rig) -> None:
    rig.ticket.set_paper(False)
    rig.to_form()
    rig.fill_all_pages()
    view = rig.wait(lambda v: bool(v.slots))
    rig.service.choose_slot(view.slots[0].slot)
    rig.service.submit()
    view = rig.wait(lambda v: v.state is SessionState.RESULT)
    assert view.outcome is not None
    assert not view.outcome.ticket_printed and view.outcome.receipt_printed
    assert any("Kertas" in m.id for m in view.outcome.messages)
    assert rig.ticket.printed == [] and len(rig.a4.printed) == 1
    pending = rig.journal.pending()  # the attendant can reprint the ticket later
    assert [(job.kind, job.state) for job in pending] == [("ticket", "failed")]


def test_dead_server_keeps_form_and_retry_does_not_duplicate(rig: Rig, tmp_path: Path) -> None:
    rig.to_form()
    rig.fill_all_pages()
    view = rig.wait(lambda v: bool(v.slots))
    rig.service.choose_slot(view.slots[0].slot)
    real = rig.central.base_url
    rig.central.base_url = "http://127.0.0.1:9"  # nothing listens there
    rig.service.submit()
    view = rig.wait(lambda v: v.state is SessionState.REVIEW and v.message is not None)
    assert view.values["child_name"] == "RAFA ADITYA SANTOSO"
    key = rig.service._submission.idempotency_key()
    assert key is not None
    rig.central.base_url = real
    rig.service.submit()
    view = rig.wait(lambda v: v.state is SessionState.RESULT)
    assert view.outcome is not None
    # Replaying the same request with the same idempotency key returns the same registration.
    holder = citizen(0)
    again = rig.central.submit(
        service="akta_kelahiran",
        applicant_nik=holder.nik,
        applicant_name=holder.name,
        data=sample_birth_values(),
        slot=view.outcome.slot,
        idempotency_key=key,
    )
    assert again.registration_number == view.outcome.registration_number


def test_service_not_built_says_so_plainly(rig: Rig) -> None:
    rig.service.simulate_card_tap(1)
    rig.wait(lambda v: v.state is SessionState.IDENTITY)
    rig.service.continue_to_menu()
    rig.service.choose_service("surat_nikah")  # not in the catalogue
    view = rig.service.view
    assert view.state is SessionState.MENU
    assert view.message is not None and "belum" in view.message.id


def test_read_failure_returns_to_prompt_with_message(rig: Rig) -> None:
    from drivers.errors import CardUnreadable

    rig.reader.fail_next_read(CardUnreadable("not an e-KTP"))
    rig.service.simulate_card_tap(0)
    view = rig.wait(lambda v: v.state is SessionState.ATTRACT and v.message is not None)
    assert view.message == CardUnreadable.citizen_message


def test_card_whose_nik_disagrees_with_its_birth_date_is_flagged_not_refused(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import date

    from drivers.card_reader.protocol import CardInserted, IdentityRead

    holder = citizen(0)
    holder.birth_date = date(1985, 8, 13)  # the NIK says 12 August
    cards = rig.service._card
    cards.on_event(CardInserted())
    cards.on_event(IdentityRead(holder))
    view = rig.service.view
    assert view.state is SessionState.IDENTITY
    assert view.message is not None and "tidak cocok" in view.message.id
    rig.service.continue_to_menu()
    assert rig.service.view.state is SessionState.MENU and rig.service.view.message is None
    assert citizen(0).nik not in caplog.text and "inconsistent" in caplog.text


def test_consistent_card_shows_no_warning(rig: Rig) -> None:
    rig.service.simulate_card_tap(3)
    view = rig.wait(lambda v: v.state is SessionState.IDENTITY)
    assert view.message is None


def test_pages_of_a_variant_not_chosen_are_passed_over_both_ways(rig: Rig) -> None:
    from kiosk_app.domain import kk_change
    from kiosk_app.domain.form_variants import submitted_values

    rig.service.simulate_card_tap(0)
    rig.wait(lambda v: v.state is SessionState.IDENTITY)
    rig.service.continue_to_menu()
    rig.service.choose_service("perubahan_kk")
    pages = [p.key for p in kk_change.PAGES]
    rig.service.set_value("change_type", kk_change.SPLIT)
    rig.service.set_value("kk_number", "3517010101990001")
    rig.service.set_value("kk_head_name", "BUDI SANTOSO")
    rig.service.set_value("member_name", "TYPED BEFORE CHANGING MY MIND")
    rig.service.next_page()
    assert not rig.service.view.errors, rig.service.view.errors
    service = rig.service.view.service
    assert service is not None and service.form is not None
    shown = service.form.pages[rig.service.view.page].key
    assert shown == "pisah", (shown, pages)  # new-member and correction pages passed over
    rig.service.previous_page()
    assert rig.service.view.page == 0  # and again on the way back
    assert "member_name" not in submitted_values("perubahan_kk", rig.service.view.values)
