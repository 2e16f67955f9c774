"""An emulated serial barcode scanner on a pty: scans text or a picture of a QR on command."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from drivers.pty_link import PtyLink


class BarcodeScannerEmulator:
    """A USB-CDC scanner as the host sees it: a serial port that sends a line per code."""

    def __init__(
        self, link: Path | str, terminator: bytes = b"\r", aim_prefix: bool = False
    ) -> None:
        """Prepare a scanner at `link` that ends codes with `terminator`."""
        self.link = Path(link)
        self.terminator = terminator
        self.aim_prefix = aim_prefix
        self._port = PtyLink(self.link)

    def start(self) -> BarcodeScannerEmulator:
        """Plug in: create the pty pair and the link."""
        self._port.open()
        return self

    def stop(self) -> None:
        """Unplug: remove the link and close the pty (the host's reads fail)."""
        self._port.close()

    def __enter__(self) -> BarcodeScannerEmulator:
        """Plug in on entering a with block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Unplug on leaving it."""
        self.stop()

    def scan(self, text: str, symbology: str = "Q1") -> None:
        """Send one code as the scanner would after a good read."""
        prefix = f"]{symbology}" if self.aim_prefix else ""
        self.send_raw((prefix + text).encode("utf-8") + self.terminator)

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (noise, a missing terminator, a split line)."""
        if not self._port.is_open:
            raise RuntimeError("the scanner emulator is unplugged")
        os.write(self._port.master, data)

    def scan_image(self, image: Image.Image | Path | str) -> list[str]:
        """Decode the QR codes in a picture (e.g. a printed ticket) and send each; return them.

        QR codes only, as the kiosk's scanner is set up: every code the kiosk and the server
        print is one, and a ticket's text and rules once decoded as a GS1 DataBar too.
        """
        import zxingcpp  # the emulator's camera: only needed when scanning pictures

        picture = image if isinstance(image, Image.Image) else Image.open(image)
        texts = [
            r.text
            for r in zxingcpp.read_barcodes(
                picture.convert("L"), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
            )
        ]
        for text in texts:
            self.scan(text)
        return texts
