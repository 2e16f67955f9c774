"""The PC/SC test bed: pcscd + vpcd + virtual e-KTP and SAM inside a private network namespace.

Run as `unshare --net python -m drivers.card_reader.virtual.harness LOGDIR`; it reads one JSON
command per line on stdin and answers one JSON line on stdout. `Testbed` drives it from outside.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from drivers.card_reader.virtual.card import CardFaults, VirtualEktp
from drivers.card_reader.virtual.sam import SamFaults, VirtualSam
from drivers.card_reader.virtual.vpcd import VPCD_PORT, VpcdSlot

VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
CARD_READER = "Virtual PCD 00 00"
SAM_READER = "Virtual PCD 00 01"
READER_CONF = f"""FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:0x8C7B
LIBPATH      {VPCD_DRIVER}
CHANNELID    0x8C7B
"""


def _port_open(port: int) -> bool:
    """True when something listens on 127.0.0.1:`port` (probing closes at once)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Bed:
    """State inside the namespace: the pcscd process and the two slots."""

    def __init__(self, workdir: Path) -> None:
        """Write the reader config into `workdir`."""
        self.workdir = workdir
        self.conf_dir = workdir / "reader.conf.d"
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "vpcd").write_text(READER_CONF)
        self.pcscd: subprocess.Popen[bytes] | None = None
        self.card: VpcdSlot | None = None
        self.sam: VpcdSlot | None = None
        self.want_sam = True
        self.sam_faulty = False

    def start_pcscd(self) -> None:
        """Start pcscd in the foreground and wait until vpcd listens on both slots."""
        if self.pcscd is not None and self.pcscd.poll() is None:
            return
        log = open(self.workdir / "pcscd.log", "ab")  # the child writes it; ours closes below
        self.pcscd = subprocess.Popen(
            ["pcscd", "-f", "-c", str(self.conf_dir)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 10
        # Only probe slot 1 until the SAM is in: a probe on slot 0 would look like a card tap.
        while not (PCSCD_SOCKET.exists() and _port_open(VPCD_PORT + 1)):
            if self.pcscd.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pcscd did not come up (see {self.workdir}/pcscd.log)")
            time.sleep(0.02)
        if self.want_sam:
            self.insert_sam()

    def stop_pcscd(self, hard: bool = False) -> None:
        """Stop pcscd (SIGKILL when `hard`); cards fall out with it."""
        proc, self.pcscd = self.pcscd, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for slot in (self.card, self.sam):
            if slot is not None:
                slot.remove()
        self.card = self.sam = None
        if hard:  # a killed pcscd leaves its socket and pid file behind
            for leftover in (PCSCD_SOCKET, PCSCD_SOCKET.with_name("pcscd.pid")):
                leftover.unlink(missing_ok=True)

    def insert_sam(self, faults: dict[str, Any] | None = None) -> bool:
        """Put the virtual SAM into slot 1 (a faulty one is swapped in even if a SAM is there)."""
        self.want_sam = True
        if self.sam is not None and self.sam.inserted and not faults and not self.sam_faulty:
            return True
        self.remove_sam()
        self.want_sam, self.sam_faulty = True, bool(faults)
        self.sam = VpcdSlot(VirtualSam(faults=SamFaults(**(faults or {}))), port=VPCD_PORT + 1)
        return self.sam.insert(timeout=2.0)

    def remove_sam(self) -> bool:
        """Empty slot 1."""
        self.want_sam = False
        if self.sam is not None:
            self.sam.remove()
        self.sam = None
        return True

    def insert(self, citizen: int, faults: dict[str, Any]) -> bool:
        """Insert citizen `citizen`'s card with `faults`; False when no reader listens."""
        self.remove()
        self.card = VpcdSlot(VirtualEktp(citizen, CardFaults(**faults)), port=VPCD_PORT)
        if not self.card.insert(timeout=1.0):
            self.card = None
            return False
        return True

    def remove(self) -> None:
        """Take the card away."""
        if self.card is not None:
            self.card.remove()
        self.card = None

    def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Execute one command."""
        name = cmd.get("cmd")
        if name == "insert":
            return {"ok": self.insert(int(cmd.get("citizen", 0)), cmd.get("faults") or {})}
        if name == "remove":
            self.remove()
        elif name == "sam":
            if cmd.get("present", True):
                return {"ok": self.insert_sam(cmd.get("faults") or None)}
            return {"ok": self.remove_sam()}
        elif name == "pcscd":
            action = cmd.get("action")
            if action in ("stop", "kill", "restart"):
                self.stop_pcscd(hard=action != "stop")
            if action in ("start", "restart"):
                self.start_pcscd()
            if action in ("freeze", "thaw") and self.pcscd is not None:  # a hung daemon
                self.pcscd.send_signal(signal.SIGSTOP if action == "freeze" else signal.SIGCONT)
        elif name == "status":
            card = self.card
            return {
                "ok": True,
                "pcscd": self.pcscd is not None and self.pcscd.poll() is None,
                "card": card is not None and card.inserted,
                "card_apdus": card.apdu_count if card else 0,  # as the reader sent them
                "sam": self.sam is not None and self.sam.inserted,
                "sam_apdus": self.sam.apdu_count if self.sam else 0,
                "sam_faulty": self.sam_faulty,
            }
        else:
            return {"ok": False, "error": f"unknown command {name!r}"}
        return {"ok": True}


def main() -> None:
    """Entry point inside the namespace."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    bed = Bed(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
    try:
        bed.start_pcscd()
        print(json.dumps({"ok": True, "ready": True}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                cmd = json.loads(line)
                if cmd.get("cmd") == "quit":
                    break
                reply = bed.handle(cmd)
            except Exception as exc:  # report, keep serving
                reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
    finally:
        bed.remove()
        bed.remove_sam()
        bed.stop_pcscd()


def requirements_missing() -> str:
    """Return why the test bed cannot run here, or '' when it can."""
    if os.geteuid() != 0:
        return "the PC/SC test bed needs root (unshare --net)"
    for tool in ("pcscd", "unshare", "ip"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path(VPCD_DRIVER).exists():
        return "vsmartcard-vpcd is not installed"
    return ""


if __name__ == "__main__":
    main()
