"""Crash-test zygote: imports the kiosk once, then forks a kiosk child per "go" line on stdin.

Each child reopens the outbox and the print journal (as a restarted kiosk does), sends what is
left, then submits and prints in a loop until the test SIGKILLs it. It appends "ACK <key>" to
acks.log only after the outbox commit returned (what the citizen is told is saved).

The plan file (outbox_rig.places and form_values) gives every outbox row its own bookable place:
row number i takes places[i], so no row can meet a full slot. When the places run out the child
exits with OUT_OF_PLACES instead of submitting: the rig is too small, not the kiosk wrong.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from drivers.card_reader.citizens import citizen
from drivers.document_printer.simulator import SimulatedDocumentPrinter
from drivers.ticket_printer.simulator import SimulatedTicketPrinter
from kiosk_app.central import CentralClient, SubmissionReceipt
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.outbox.records import Submission
from kiosk_app.services.outbox.sender import SENT, Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.printing import receipt_pdf  # noqa: F401 - reportlab imported before forking
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.service import PrintingService

OUT_OF_PLACES = 4


def kiosk_child(work: Path, base_url: str, token: str, plan: dict[str, Any], run: int) -> None:
    """One life of the kiosk: recover, drain, then submit and print until killed."""
    box = Outbox(work / "outbox.db", bytes(range(32)), "KIOSK-3517-OB")
    journal = PrintJournal(work / "journal.db", "KIOSK-3517-OB")
    journal.recover()
    central = CentralClient(base_url, "KIOSK-3517-OB", "3517", token=token, timeout=5)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.01, cap_s=0.05), workers=1)
    sender.drain_once()
    printing = PrintingService(
        SimulatedTicketPrinter(),
        SimulatedDocumentPrinter(None),
        kiosk_id="KIOSK-3517-OB",
        journal=journal,
    )
    places: list[tuple[str, Slot]] = plan["places"]
    holder = citizen(run % 3)
    acks = os.open(work / "acks.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for _ in range(1000):
        row = sum(box.counts().values())  # rows ever stored: this one takes the next place
        if row >= len(places):
            os._exit(OUT_OF_PLACES)
        service, slot = places[row]
        info = SERVICES[service]
        variants = plan["values"][service]
        values = variants[(row // len(SERVICES)) % len(variants)]
        submission = Submission(
            info.key, holder.nik, holder.name, values, slot, "2026-01-05T09:00:00+07:00"
        )
        entry = box.enqueue(submission)
        os.write(acks, f"ACK {entry.idempotency_key}\n".encode())
        result = sender.send(entry, attended=True, timeout=5)
        if result.kind == SENT and result.receipt is not None:
            receipt, offline = result.receipt, False
        else:
            receipt = SubmissionReceipt(
                entry.local_reference, "-", "queued", info.key, "3517", "Disdukcapil", slot, ""
            )
            offline = True
        printing.print_pre_application(
            receipt=receipt,
            info=info,
            identity=holder,
            values=values,
            language="id",
            offline=offline,
        )
    os._exit(0)


def main() -> None:
    """Serve "go <run>" lines: fork a child, answer "pid <pid>", then "exit <status>"."""
    work, base_url, token = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    plan = json.loads(Path(sys.argv[4]).read_text())
    plan["places"] = [(s, Slot(date.fromisoformat(d), w)) for s, d, w in plan["places"]]
    print("ready", flush=True)
    for line in sys.stdin:
        run = int(line.split()[1])
        pid = os.fork()
        if pid == 0:
            try:
                kiosk_child(work, base_url, token, plan, run)
            finally:
                os._exit(3)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)


if __name__ == "__main__":
    main()
