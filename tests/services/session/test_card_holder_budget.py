"""A kiosk over its card-holder look-up budget, through the real central server on loopback: the
citizen reads why (Bahasa Indonesia, then English) and the technician reads one precise line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from central_server.config import LimitSettings
from central_server.embedded import EmbeddedServer, start_embedded
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.services.printing.issued import KIOSK_BUDGET, IssuedDocumentPrint
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.desk import NONE_FILED, CardHolderDesk
from kiosk_app.services.session.views import CardHolderView

BUDGET = 2
NIKS = ["3517014501900001", "3517014501900002", "3517014501900003"]
WAIT_S = 60.0  # a hang detector for a busy machine: a passing wait ends when its view comes


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """A central server whose kiosks may look up two card holders (refill: one per 5 hours)."""
    limits = LimitSettings(kiosk_lookups_per_window=BUDGET, kiosk_lookup_window_minutes=600)
    with start_embedded(
        f"sqlite:///{tmp_path / 'central.db'}", open_enrolment=True, limits=limits
    ) as running:
        yield running


@pytest.fixture
def client(server: EmbeddedServer) -> Iterator[CentralClient]:
    """An enrolled kiosk."""
    central = CentralClient(server.base_url, "KIOSK-BUDGET-01", "3517", timeout=10)
    central.register("Lobi")
    yield central
    central.close()


def loaded(central: CentralClient, nik: str) -> CardHolderView:
    """Load a card holder's applications on the kiosk's desk; the view once it has settled."""
    changed = threading.Condition()

    def notify() -> None:
        with changed:
            changed.notify_all()

    printer = IssuedDocumentPrint(
        central, PrintingService(SimulatedTicketPrinter(), SimulatedDocumentPrinter(), kiosk_id="K")
    )
    desk = CardHolderDesk(central, printer, notify)
    try:
        desk.load(nik)
        with changed:
            assert changed.wait_for(lambda: desk.view().loaded, WAIT_S)
        return desk.view()
    finally:
        desk.close()


def test_the_citizen_reads_why_and_the_technician_reads_one_line(
    client: CentralClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert loaded(client, NIKS[0]).messages == (NONE_FILED,)
    assert loaded(client, NIKS[1]).messages == (NONE_FILED,)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        view = loaded(client, NIKS[2])
    assert view.timelines == () and len(view.messages) == 1
    (message,) = view.messages
    assert message.id.startswith("Demi perlindungan data pribadi, anjungan ini sementara")
    assert "To protect personal data, this kiosk cannot" in message.en
    # a refill of one look-up per 5 hours: the wait is said in minutes, in each language
    assert "menit" in message.id and "minutes" in message.en and "{" not in message.id
    assert message.id.split(" dalam ")[1].split()[0].isdigit()
    lines = [r for r in caplog.records if "look-up budget" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    line = lines[0].getMessage()
    assert "loading own applications of nik=3517********0003" in line
    assert "429 kiosk_lookup_budget" in line and "lookup_budget" in line
    assert NIKS[2] not in caplog.text  # the NIK masked everywhere


def test_a_print_over_the_budget_tells_the_citizen_the_same(
    client: CentralClient, caplog: pytest.LogCaptureFixture
) -> None:
    for nik in NIKS[:BUDGET]:
        loaded(client, nik)
    printer = IssuedDocumentPrint(
        client, PrintingService(SimulatedTicketPrinter(), SimulatedDocumentPrinter(), kiosk_id="K")
    )
    with caplog.at_level(logging.WARNING):
        result = printer.print_document(NIKS[2], code="ACEF-HJ34")
    assert not result.printed
    (message,) = result.messages
    assert message.id.startswith(KIOSK_BUDGET.id.split("{")[0])
    assert "reserving a document print for nik=3517********0003 refused" in caplog.text
    assert NIKS[2] not in caplog.text
