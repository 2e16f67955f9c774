"""Ticket bytes and send time over serial: native QR (GS ( k) against an image QR (GS v 0).

The baseline "escpos_direct_bytes" is the same ticket's content (text, styles, QR, cut) sent by
plain python-escpos calls into a Dummy printer (tests/drivers/escpos/direct.py); "ratio" is our
native-QR ticket's bytes over it.

Times come from the real driver talking to the ESC/POS emulator over a pty pair. A pty does not
throttle by baud rate, so the emulator does: it reads the host's bytes no faster than the wire
would carry them (10 bits a byte, 8N1). The clock runs from print_ticket() being called to the
printer's answer to the DLE EOT that follows the last byte of the ticket, so it includes the layout,
the status check before the ticket and the one after. Each figure is the median of RUNS tickets.
Last line: {"ticket_bytes_native_qr", "escpos_direct_bytes", "ratio", "ticket_bytes_image_qr",
"send_s_38400", "send_s_115200"}.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.pop(0)  # not benchmarks/: its queue.py would hide the standard library's queue
sys.path.insert(0, str(ROOT))

from drivers.ticket_printer.emulator import EscposEmulator  # noqa: E402
from drivers.ticket_printer.escpos_serial import EscposSerialTicketPrinter  # noqa: E402
from drivers.ticket_printer.layout import TicketProfile, build_ticket  # noqa: E402
from kiosk_app.domain.text import Text  # noqa: E402
from kiosk_app.domain.ticket import Slot, Ticket  # noqa: E402
from tests.drivers.escpos.direct import escpos_direct  # noqa: E402

RUNS = int(os.environ.get("TICKET_RUNS", "5"))
TICKET = Ticket(
    registration_number="AKTA-35.17.261122.0007",
    queue_number="A-017",
    service=Text("Akta Kelahiran", "Birth certificate"),
    masked_name="S*** N** A***",
    slot=Slot(date(2026, 11, 23), "08.00-11.00"),
    office_name="DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KABUPATEN JOMBANG",
    qr_payload="AKTA-35.17.261122.0007",
    issued_at="22-11-2026 10:15",
)


def send_time(baud: int, profile: TicketProfile, folder: Path) -> float:
    """Median seconds from print request to the after-ticket status answer at `baud`."""
    with EscposEmulator(folder / f"tty{baud}", baudrate=baud) as emulator:
        printer = EscposSerialTicketPrinter(str(emulator.link), baud, profile)
        samples = []
        for _ in range(RUNS):
            started = time.perf_counter()
            printer.print_ticket(TICKET)
            samples.append(time.perf_counter() - started)
        printer.close()
        assert len(emulator.tickets) == RUNS, "the emulator did not cut every ticket"
    return statistics.median(samples)


def main() -> None:
    """Measure and print the figures, JSON last."""
    native, image = TicketProfile(native_qr=True), TicketProfile(native_qr=False)
    native_bytes, image_bytes = len(build_ticket(TICKET, native)), len(build_ticket(TICKET, image))
    direct_bytes = len(escpos_direct(TICKET))
    with tempfile.TemporaryDirectory(prefix="bench-ticket-") as tmp:
        folder = Path(tmp)
        figures = {
            "ticket_bytes_native_qr": native_bytes,
            "escpos_direct_bytes": direct_bytes,
            "ratio": round(native_bytes / direct_bytes, 2),
            "ticket_bytes_image_qr": image_bytes,
            "send_s_38400": round(send_time(38400, native, folder), 3),
            "send_s_115200": round(send_time(115200, native, folder), 3),
        }
        image_38400 = round(send_time(38400, image, folder), 3)
    print(
        f"native QR: {native_bytes} B; image QR: {image_bytes} B "
        f"({image_38400} s at 38,400 baud); wire time alone at 38,400: "
        f"{native_bytes * 10 / 38400:.3f} s native, {image_bytes * 10 / 38400:.3f} s image"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
