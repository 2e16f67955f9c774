"""The session with an outbox: offline submissions get a local reference and OFFLINE prints."""

from __future__ import annotations

from pathlib import Path

from central_server.embedded import start_embedded
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.services.outbox.sender import Backoff
from tests.services.session.session_rig import outbox_session

KIOSK = "KIOSK-TEST-01"


def test_offline_submission_gets_local_reference_then_is_sent_once(tmp_path: Path) -> None:
    server = start_embedded(f"sqlite:///{tmp_path / 'central.db'}")
    central = CentralClient(server.base_url, KIOSK, "3517")
    central.register("test kiosk")
    with outbox_session(
        tmp_path, central, KIOSK, backoff=Backoff(base_s=0.01, cap_s=0.02), server=server
    ) as rig:
        box, sender, ticket = rig.box, rig.sender, rig.ticket
        rig.to_form()
        rig.fill_all_pages()
        view = rig.wait(lambda v: bool(v.slots))
        chosen = view.slots[0].slot
        rig.service.choose_slot(chosen)
        real = central.base_url
        central.base_url = "http://127.0.0.1:9"  # the server is unreachable
        rig.service.submit()
        view = rig.wait(lambda v: v.state is SessionState.RESULT)
        outcome = view.outcome
        assert outcome is not None and outcome.offline
        assert outcome.registration_number == outcome.local_reference
        assert outcome.local_reference.startswith(f"LOK-{KIOSK}-")
        assert outcome.slot == chosen and outcome.ticket_printed and outcome.receipt_printed
        assert ticket.tickets[0].offline and ticket.tickets[0].qr_payload == outcome.local_reference
        assert box.depth() == 1
        central.base_url = real  # the server is back: the sender delivers it, once
        assert sender.drain_once() == 1
        row = box.entries()[0]
        assert row.status == "sent" and row.local_reference == outcome.local_reference
        assert central.status(row.registration_number or "").slot == chosen
        assert sender.drain_once() == 0 and box.depth() == 0


def test_scans_of_an_offline_submission_reach_the_officer_when_the_server_returns(
    tmp_path: Path,
) -> None:
    from drivers.scanner.simulator import SimulatedScanner
    from tests.services.scanning.test_scan_step import stored_scans

    db = tmp_path / "central.db"
    server = start_embedded(f"sqlite:///{db}")
    central = CentralClient(server.base_url, KIOSK, "3517")
    central.register("test kiosk")
    with outbox_session(
        tmp_path,
        central,
        KIOSK,
        backoff=Backoff(base_s=0.01, cap_s=0.02),
        server=server,
        scanner=SimulatedScanner(),
    ) as rig:
        box, sender, service = rig.box, rig.sender, rig.service
        rig.to_form()
        rig.fill_all_pages()
        rig.wait(lambda v: v.state is SessionState.SCAN)
        service.scan_page()
        rig.wait(lambda v: v.scan is not None and not v.scan.busy and v.scan.current.pages == 1)
        service.scan_next_document()
        rig.wait(lambda v: v.scan is not None and not v.scan.busy and v.scan.index == 1)
        service.scan_skip_all()
        view = rig.wait(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots))
        service.choose_slot(view.slots[0].slot)
        real = central.base_url
        central.base_url = "http://127.0.0.1:9"  # the server is unreachable
        service.submit()
        view = rig.wait(lambda v: v.state is SessionState.RESULT)
        assert view.outcome is not None and view.outcome.offline
        row = box.entries()[0]
        assert [a.name for a in box.attachments(row.id)] != []  # the scan is in the durable row
        service.finish()  # the citizen leaves: the session's copy is wiped, the outbox's stays
        central.base_url = real
        assert sender.drain_once() == 1
        number = box.entries()[0].registration_number or ""
        scans = stored_scans(db, number)
        assert len(scans) == 1 and next(iter(scans.values())).startswith(b"%PDF")
        assert box.attachments(row.id) == []  # wiped once delivered
