"""A fault matrix through the real kiosk services; last line: one JSON object.

Covered (see "covers" in the JSON):
- card and SAM faults: the real SessionService on a PcscCardReader, pcscd + vpcd + the virtual
  e-KTP and SAM (the tests' test bed), the session's timers ticking on the real clock; a fault
  counts as told when the session is back on the prompt with a message for the citizen;
- storage faults: the whole kiosk (build_kiosk) in a child's private mount namespace with a
  read-only or full data folder, or no usable outbox key, submitting through the session
  (the harness of tests/services/test_kiosk_storage_faults.py).
- damaged durable files at start: the outbox (0 bytes, truncated, flipped header, schema page,
  row page; 30 rows in it), the print journal and the survey queue (0 bytes, truncated, flipped
  header): the whole kiosk must start, take a submission and answer a status check; "lost"
  for the outbox: a row plain sqlite3 still reads from the damaged file, row by row,
  that the kiosk did not bring back);
- server faults: the session with its outbox behind the tests' fault proxy (down, slow, 500,
  429, reset, reset after the server did the work, and hostile 200s: an HTML page, JSON of
  another shape, a body cut short, a 16 MiB body); a fault counts as told when the citizen
  gets a result (offline: a local reference) or a message; afterwards the queue must drain
  (a row left unsent counts as lost; duplicates on the server are not counted here).
- printer faults during a submission: the session with simulated ticket and A4 printers that
  run out of paper, open their cover, go offline, jam or stop their queue; the application must
  be stored (a registration number) and the citizen told what did not print.
- SIGKILL: the crash rig of tests/services/outbox/test_outbox_crash.py, 60 kills while
  submitting and printing, then a restart and drain: no acknowledged submission lost, none on
  the server twice, no ticket printed twice.

"lost": an acknowledged submission missing from the outbox; "hung": no outcome within 30 s;
"untold": an outcome without a message; "reused_refs": a local reference issued twice.
Run with a private /run/pcscd, e.g.:
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs tmpfs /run/pcscd && python benchmarks/faults.py'
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fault_matrices import HANG_S
from benchmarks.fault_matrices.whole_kiosk import damaged_file_matrix, storage_matrix
from drivers.card_reader.pcsc import PcscCardReader, PcscSettings
from drivers.card_reader.virtual.testbed import Testbed
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.errors import SamFault
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.services.printing.service import PrintingService
from kiosk_app.services.session.service import SessionService
from kiosk_app.services.session.views import SessionView
from tests.drivers.pcsc.fixtures import reset_bed, sam_slot_present, wait_for
from tests.services.outbox_rig import (
    SERVICE,
    client,
    start_server,
)

CARD_FAULTS: dict[str, dict[str, Any]] = {
    "card mute after 2 APDUs": {"mute_after": 2},
    "card mute at once": {"mute_after": 0},
    "card too slow for the read": {"slow_s": 0.6},
    "card garbled answer": {"garbled_at": 3},
    "card wrong status word": {"wrong_sw": 0x6F00, "wrong_sw_at": 2},
    "card torn away mid-read": {"drop_after": 3},
    "card malformed TLV": {"malformed_tlv": True},
    "card expired": {"expired": True},
    "card not an e-KTP": {"not_ektp": True},
    "card forged (authentication fails)": {"forged": True},
}
SAM_FAULTS: dict[str, dict[str, Any]] = {
    "SAM mute in authentication": {"mute_after": 1},
    "SAM mute at select": {"mute_after": 0},
    "SAM refusing": {"wrong_sw": 0x6581},
    "SAM garbled": {"garbled": True},
}


class Watch:
    """Records the session's views with the time they arrived."""

    def __init__(self) -> None:
        self.views: list[tuple[float, SessionView]] = []
        self.changed = threading.Condition()

    def __call__(self, view: SessionView) -> None:
        with self.changed:
            self.views.append((time.monotonic(), view))
            self.changed.notify_all()

    def outcome(self, since: float, expected: Text | None = None) -> tuple[str, float]:
        """("told" | "untold" | "hung", seconds): the first end of a read after `since`;
        with `expected`, another message counts as untold (a SAM fault blamed on the card)."""
        deadline = since + HANG_S
        with self.changed:
            while True:
                for at, view in self.views:
                    if at >= since and view.state in (SessionState.ATTRACT, SessionState.IDENTITY):
                        read_started = any(
                            a >= since and v.state is SessionState.READING_CARD
                            for a, v in self.views
                        )
                        if not read_started:
                            continue
                        if view.state is SessionState.IDENTITY:
                            return "untold", at - since  # a faulty card accepted silently
                        told = view.message is not None and expected in (None, view.message)
                        return ("told" if told else "untold"), at - since
                left = deadline - time.monotonic()
                if left <= 0:
                    return "hung", HANG_S
                self.changed.wait(left)


def card_matrix(results: list[dict[str, Any]]) -> None:
    """Every card and SAM fault through the session on the real PC/SC stack."""
    bed = Testbed().start()
    reader = PcscCardReader(PcscSettings(sam_probe_s=0.2))
    session = SessionService(
        card_reader=reader,
        central=CentralClient("http://127.0.0.1:9", "KIOSK-BENCH", "3517"),
        printing=PrintingService(
            SimulatedTicketPrinter(), SimulatedDocumentPrinter(), kiosk_id="KIOSK-BENCH"
        ),
    )
    watch = Watch()
    session.subscribe(watch)
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(0.1):
            session.tick()

    threading.Thread(target=ticker, daemon=True).start()
    try:
        reset_bed(bed)
        session.start()
        cases = [(name, faults, {}) for name, faults in CARD_FAULTS.items()]
        cases += [(name, {}, faults) for name, faults in SAM_FAULTS.items()]
        for name, card, sam in cases:
            reset_bed(bed)
            if sam:
                bed.set_sam(False)
                wait_for(lambda: not sam_slot_present(), what="the SAM to leave")
                bed.set_sam(True, **sam)
                wait_for(sam_slot_present, what="the faulty SAM")
            wait_for(
                lambda: reader.status()["pcsc_state"] == "no_card",
                timeout=HANG_S,
                what="the reader ready",
            )
            since = time.monotonic()
            bed.insert(0, **card)
            verdict, seconds = watch.outcome(since, SamFault.citizen_message if sam else None)
            results.append(
                {
                    "fault": name,
                    "kind": "card",
                    "verdict": verdict,
                    "time_to_message_s": round(seconds, 3),
                }
            )
            bed.remove()
        reset_bed(bed)
    finally:
        stop.set()
        session.close()
        bed.close()


def _to_a_chosen_slot(session: SessionService, until: Any) -> None:
    """A card tap, the birth form filled, scans skipped and the first free slot chosen."""
    from kiosk_app.demo_data import sample_birth_values
    from kiosk_app.domain.catalogue import SERVICES

    form, values = SERVICES[SERVICE].form, sample_birth_values()
    assert form is not None
    session.simulate_card_tap(0)
    until(lambda v: v.state is SessionState.IDENTITY)
    session.continue_to_menu()
    session.choose_service(SERVICE)
    for index in range(len(form.pages)):
        for name in form.page_fields(index):
            session.set_value(name, values[name])
        session.next_page()
    if session.view.state is SessionState.SCAN:
        session.scan_skip_all()
    view = until(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots))
    assert view is not None, "no slots"
    session.choose_slot(view.slots[0].slot)


def _end_visit(session: SessionService, reader: Any, until: Any) -> None:
    """Finish, take the card, and finish again past the goodbye or the survey."""
    session.finish()
    reader.remove_card()
    until(lambda v: v.state in (SessionState.GOODBYE, SessionState.ATTRACT, SessionState.SURVEY))
    session.finish()


def _watched(session: SessionService) -> Any:
    """until(predicate): the session's view once it satisfies `predicate`, None after HANG_S."""
    watch = Watch()
    session.subscribe(watch)

    def until(predicate: Any) -> SessionView | None:
        deadline = time.monotonic() + HANG_S
        with watch.changed:
            while not predicate(session.view):
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                watch.changed.wait(left)
        return session.view

    return until


PRINTER_FAULTS = {
    "ticket printer out of paper": ("ticket", lambda t, a: t.set_paper(False)),
    "ticket printer cover open": ("ticket", lambda t, a: t.set_cover_open(True)),
    "ticket printer offline": ("ticket", lambda t, a: t.set_offline(True)),
    "A4 printer out of paper": ("a4", lambda t, a: a.set_paper(False)),
    "A4 printer jammed": ("a4", lambda t, a: a.set_jam(True)),
    "A4 queue stopped": ("a4", lambda t, a: a.set_stopped(True)),
}


def printer_matrix(results: list[dict[str, Any]]) -> None:
    """Submissions through the session while a printer fails: the application must be stored
    (a registration number on the server), and the citizen told what did not print."""
    from drivers.card_reader.simulator import SimulatedCardReader
    from kiosk_app.services.outbox.sender import OutboxSender
    from kiosk_app.services.outbox.store import Outbox

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = start_server(root / "central.db")
        central = client(server.base_url, timeout=5.0)
        box = Outbox(root / "outbox.db", bytes(range(32)), central.kiosk_id)
        sender = OutboxSender(box, central)
        try:
            for name, (which, inject) in PRINTER_FAULTS.items():
                ticket, a4 = SimulatedTicketPrinter(), SimulatedDocumentPrinter()
                reader = SimulatedCardReader(read_delay_s=0.01)
                session = SessionService(
                    card_reader=reader,
                    central=central,
                    outbox=sender,
                    printing=PrintingService(ticket, a4, kiosk_id=central.kiosk_id),
                )
                until = _watched(session)
                session.start()
                try:
                    _to_a_chosen_slot(session, until)
                    inject(ticket, a4)
                    since = time.monotonic()
                    session.submit()
                    view = until(
                        lambda v: v.state is not SessionState.SUBMITTING and v.outcome is not None
                    )
                    seconds = time.monotonic() - since
                    verdict, lost = "hung", True
                    if view is not None and view.outcome is not None:
                        outcome = view.outcome
                        failed = not (
                            outcome.ticket_printed if which == "ticket" else outcome.receipt_printed
                        )
                        told = bool(outcome.messages) or view.reprint is not None
                        verdict = "told" if failed and told else "untold"
                        lost = not outcome.registration_number
                    results.append(
                        {
                            "fault": name,
                            "kind": "printer",
                            "verdict": verdict,
                            "lost": lost,
                            "time_to_message_s": round(min(seconds, HANG_S), 3),
                        }
                    )
                    _end_visit(session, reader, until)
                finally:
                    session.close()
        finally:
            sender.stop()
            box.close()
            server.stop()


def server_matrix(results: list[dict[str, Any]]) -> list[str]:
    """Submissions through the session while the server is unreachable or failing; the local
    references issued (to check none is issued twice)."""
    from drivers.card_reader.simulator import SimulatedCardReader
    from kiosk_app.services.outbox.sender import Backoff, OutboxSender
    from kiosk_app.services.outbox.store import Outbox
    from tests.services.faultproxy import HOSTILE, FaultProxy

    references: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = start_server(root / "central.db")
        proxy = FaultProxy(server.port, slow_s=4.0)
        central = client(proxy.base_url, timeout=2.0)
        box = Outbox(root / "outbox.db", bytes(range(32)), central.kiosk_id)
        sender = OutboxSender(box, central, backoff=Backoff(base_s=0.05, cap_s=0.2))
        reader = SimulatedCardReader(read_delay_s=0.01)
        session = SessionService(
            card_reader=reader,
            central=central,
            outbox=sender,
            send_timeout_s=1.5,
            printing=PrintingService(
                SimulatedTicketPrinter(), SimulatedDocumentPrinter(), kiosk_id=central.kiosk_id
            ),
        )
        until = _watched(session)
        session.start()

        acknowledged: list[str] = []
        try:
            modes = ("down", "slow", "500", "429", "reset", "reset_after_forward", *HOSTILE)
            for mode in modes:
                proxy.set_mode("forward")
                _to_a_chosen_slot(session, until)
                proxy.set_mode(mode)
                since = time.monotonic()
                session.submit()
                view = until(lambda v: v.state is not SessionState.SUBMITTING)
                seconds = time.monotonic() - since
                if view is None:
                    verdict = "hung"
                elif view.outcome is not None:
                    verdict = "told"
                    acknowledged.append(
                        view.outcome.local_reference or view.outcome.registration_number
                    )
                    if view.outcome.local_reference:
                        references.append(view.outcome.local_reference)
                else:
                    verdict = "told" if view.message is not None else "untold"
                results.append(
                    {
                        "fault": f"server {mode}",
                        "kind": "server",
                        "verdict": verdict,
                        "time_to_message_s": round(min(seconds, HANG_S), 3),
                    }
                )
                _end_visit(session, reader, until)
            proxy.set_mode("forward")
            deadline = time.monotonic() + HANG_S
            while box.depth() and time.monotonic() < deadline:
                sender.drain_once()
            missing = box.depth()
            on_server = {e.local_reference: e.registration_number for e in box.entries()}
            for row in results:
                if row["kind"] == "server":
                    row["lost"] = False
            lost_refs = [r for r in acknowledged if r in on_server and not on_server[r]]
            if missing or lost_refs:
                results.append(
                    {
                        "fault": "server: queue after the faults",
                        "kind": "server",
                        "verdict": "told",
                        "lost": True,
                        "time_to_message_s": 0.0,
                        "error": f"{missing} row(s) never sent",
                    }
                )
        finally:
            session.close()
            sender.stop()
            box.close()
            proxy.close()
            server.stop()
    return references


def kill_matrix(results: list[dict[str, Any]], kills: int = 60) -> None:
    """The kiosk SIGKILLed `kills` times while submitting and printing (the crash rig of
    tests/services/outbox/test_outbox_crash.py): nothing acknowledged lost, nothing doubled."""
    from tests.services.outbox.test_outbox_crash import run_kills

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run_kills(Path(tmp), kills, seed=13)
        except BaseException as exc:  # the rig's assertions and pytest.fail (Failed)
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = str(exc)[:300]
            results.append(
                {
                    "fault": f"SIGKILL x{kills} while submitting and printing",
                    "kind": "sigkill",
                    "verdict": "told",
                    "lost": "not sent" in text or "twice" in text,
                    "error": text,
                    "time_to_message_s": 0.0,
                }
            )
            return
    results.append(
        {
            "fault": f"SIGKILL x{kills} while submitting and printing",
            "kind": "sigkill",
            "verdict": "told",
            "lost": False,
            "time_to_message_s": 0.0,  # a killed kiosk tells nobody; the restart loses nothing
            "rig_s": round(time.monotonic() - started, 1),
        }
    )


def main() -> None:
    results: list[dict[str, Any]] = []
    card_matrix(results)
    storage_matrix(results)
    damaged_file_matrix(results)
    references = server_matrix(results)
    printer_matrix(results)
    kill_matrix(results)
    for row in results:
        print(json.dumps(row))
    print(
        json.dumps(
            {
                "faults": len(results),
                "lost": sum(1 for r in results if r.get("lost")),
                "hung": sum(1 for r in results if r["verdict"] == "hung"),
                "untold": sum(1 for r in results if r["verdict"] == "untold"),
                "reused_refs": len(references) - len(set(references)),
                "max_time_to_message_s": max(r["time_to_message_s"] for r in results),
                "covers": "card+SAM faults on pcscd/vpcd, storage faults and damaged files on the "
                "whole kiosk, server faults and hostile answers through the fault proxy, ticket "
                "and A4 printer faults during a submission, SIGKILLs while submitting",
            }
        )
    )


if __name__ == "__main__":
    main()
