"""Check-in to printed calling number at the kiosk: a ticket's QR read to the calling ticket cut.

The rig of tests/services/session/checkin_rig.py: the central server on loopback (its clock on
the booked morning), the session service, the serial barcode scanner driver reading the QR's
bytes from its pty emulator, and the ESC/POS serial driver printing into the printer emulator,
which reads no faster than a 38400-baud wire would carry the bytes. The clock runs from the
scanner emulator writing the QR's bytes to the printer emulator cutting the calling ticket (the
last byte of the ticket is on the paper): the scanner's line, the session, POST /api/v1/checkin,
the layout, the printer's status checks and the ticket's wire time. CHECKIN_RUNS citizens
(default 12), each booked and approved beforehand, check in one after the other.
Last line: {"checkins", "printer_baud", "checkin_to_ticket_p50_ms", "checkin_to_ticket_p95_ms",
"checkin_to_ticket_max_ms", "ticket_bytes"}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

from tests.services.session.checkin_rig import checkin_rig  # noqa: E402

RUNS = int(os.environ.get("CHECKIN_RUNS", "12"))
BAUD = 38400
HANG_GUARD_S = 30.0


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values`."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def checkin_to_ticket_ms(runs: int = RUNS, baud: int = BAUD) -> tuple[list[float], int]:
    """`runs` check-ins one after the other: each one's QR-bytes-to-ticket-cut time in ms, and
    the calling ticket's bytes (benchmarks/queue.py may call this for its kiosk figure)."""
    with tempfile.TemporaryDirectory(prefix="bench-checkin-") as folder:
        with checkin_rig(Path(folder), printer_baud=baud) as rig:
            booked = [rig.book() for _ in range(runs)]
            rig.at(booked[0][1], 8, 10)
            times_ms: list[float] = []
            for number, _day in booked:
                rig.service.open_checkin()
                printed = len(rig.printer.tickets)
                start = time.perf_counter()
                rig.scanner.scan(number)
                deadline = start + HANG_GUARD_S
                while len(rig.printer.tickets) == printed:
                    if time.perf_counter() > deadline:
                        raise SystemExit(f"no calling ticket for {number}: {rig.service.view}")
                    time.sleep(0.001)
                times_ms.append((time.perf_counter() - start) * 1000)
                rig.checked_in()
                rig.service.close_checkin()
            if len(rig.calling_tickets()) != runs:
                raise SystemExit(f"{len(rig.calling_tickets())} calling tickets for {runs}")
            return times_ms, rig.driver.bytes_sent // runs


def main() -> None:
    times_ms, ticket_bytes = checkin_to_ticket_ms()
    print(
        json.dumps(
            {
                "checkins": RUNS,
                "printer_baud": BAUD,
                "checkin_to_ticket_p50_ms": round(statistics.median(times_ms), 1),
                "checkin_to_ticket_p95_ms": round(percentile(times_ms, 0.95), 1),
                "checkin_to_ticket_max_ms": round(max(times_ms), 1),
                "ticket_bytes": ticket_bytes,
            }
        )
    )


if __name__ == "__main__":
    main()
