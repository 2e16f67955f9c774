"""Lease crash child: books places from one lease through the outbox until it runs out or the
test SIGKILLs it; "PRINTED <reference> <seal>" is appended (fsynced) only once the booking
returned, where the kiosk would print the ticket."""

from __future__ import annotations

import os
import sys
import uuid
from datetime import date
from pathlib import Path

from kiosk_app.domain.ticket import Slot
from kiosk_app.services import receipt_seal
from kiosk_app.services.leases import LeaseExhausted, LeaseStore, ReceiptSigner
from kiosk_app.services.outbox.records import Submission
from kiosk_app.services.outbox.store import Outbox

KIOSK = "KIOSK-CRASH-1"
LEASE_ID = "L-CRASH"


def main(work: Path) -> None:
    """Book until no place is left (exit 3) or killed."""
    leases = LeaseStore(work / "leases.db")
    box = Outbox(work / "outbox.db", bytes(range(32)), KIOSK)
    signer = ReceiptSigner(receipt_seal.new_key(), kiosk_id=KIOSK, office_code="3517")
    printed = os.open(work / "printed.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    slot = Slot(date(2030, 1, 7), "08.00-11.00")
    print("READY", flush=True)
    submission = Submission(
        "akta_kelahiran", "3517084506870001", "CRASH TEST", {}, slot, "2030-01-01T00:00:00"
    )
    while True:
        key = uuid.uuid4().hex

        def book(reference: str, key: str = key) -> dict[str, str]:
            return leases.book(
                LEASE_ID,
                key,
                reference,
                lambda lease: signer.seal(reference, "akta_kelahiran", slot),
            )

        try:
            entry = box.enqueue(submission, idempotency_key=key, book=book)
        except LeaseExhausted:
            os._exit(3)
        sealed = book(entry.local_reference)["seal"]
        os.write(printed, f"PRINTED {entry.local_reference} {sealed}\n".encode())
        os.fsync(printed)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
