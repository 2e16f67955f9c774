"""A private CUPS test bed: cupsd, a cups-pdf queue and ippeveprinter, all in one network namespace.

Everything lives under one base folder (config, spool, sockets, logs); only cupsd's Unix socket is
used from outside the namespace, so no daemon listens on a shared address.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PDF_QUEUE = "kiosk-pdf"  # cups-pdf: completes in about half a second
IPP_QUEUE = "kiosk-ipp"  # ippeveprinter: state reasons on command
DEAD_QUEUE = "kiosk-dead"  # an IPP queue whose printer never answers
IPP_PORT = 8631
A4 = "iso_a4_210x297mm"
AVAHI_RUN = Path("/run/avahi-daemon")
POLICY_USER = "nobody"  # stands in for the kiosk user in provisioning's <Policy anjungan>

_CUPS_FILES = """ServerRoot {root}/etc
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
Printcap {root}/state/printcap
SystemGroup root
User lp
Group lp
"""
# PreserveJobFiles No: CUPS deletes the document as soon as the job ends (personal data).
_CUPSD = """Listen {root}/cups.sock
Browsing No
WebInterface No
LogLevel info
PreserveJobFiles No
PreserveJobHistory Yes
MaxJobTime 0
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
"""
_DBUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={root}/dbus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""
_AVAHI = (
    "[server]\nuse-ipv4=yes\nuse-ipv6=no\n[wide-area]\nenable-wide-area=no\n"
    "[publish]\npublish-hinfo=no\npublish-workstation=no\n"
)
# The simulated printer's engine: emits STATE lines from `control`, holds the job while the control
# file says HOLD (a jam or an open door that nobody clears), and logs each finished job's title.
_ENGINE = """#!/bin/sh
CTRL={root}/ipp/control
[ -f "$CTRL" ] && grep '^STATE:' "$CTRL" >&2
n=0
while [ -f "$CTRL" ] && grep -q '^HOLD' "$CTRL" && [ $n -lt 600 ]; do sleep 0.1; n=$((n+1)); done
[ -f "$CTRL" ] && grep -q '^FAIL' "$CTRL" && exit 1
printf '%s\\n' "$IPP_JOB_NAME" >> {root}/ipp/printed.log
exit 0
"""


def kiosk_policy(user: str = POLICY_USER) -> str:
    """provisioning's cupsd.conf policy for the A4 queue (kiosk_cups.py, which provision.py
    writes), with `user` as the kiosk."""
    path = Path(__file__).resolve().parents[3] / "provisioning" / "kiosk_cups.py"
    spec = importlib.util.spec_from_file_location("anjungan_kiosk_cups", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.cups_policy(user=user))


class TestbedError(RuntimeError):
    """The test bed could not start or answer in time."""


def wait_for(check: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; TestbedError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TestbedError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


class CupsTestbed:
    """Start/stop cupsd + cups-pdf + ippeveprinter (with dbus and avahi) inside a private netns."""

    def __init__(self, root: Path) -> None:
        """Prepare (but do not start) a test bed under `root`."""
        self.root = Path(root)
        self.socket = str(self.root / "cups.sock")
        self.spool = self.root / "spool"
        self.ipp_dir = self.root / "ipp"
        self._procs: list[subprocess.Popen[bytes]] = []
        self._holder: subprocess.Popen[bytes] | None = None
        self.pdf_out = self.root / "paper"  # where cups-pdf's output lands: the "paper"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> CupsTestbed:
        """Write configs, start every daemon and create the queues; TestbedError on failure."""
        for tool in (
            "cupsd",
            "lpadmin",
            "ippeveprinter",
            "avahi-daemon",
            "dbus-daemon",
            "unshare",
            "nsenter",
        ):
            if shutil.which(tool) is None:
                raise TestbedError(f"{tool} is not installed (see provisioning/dev-setup.sh)")
        self._write_configs()
        try:
            # Own network namespace (avahi binds every address) and own mount namespace with a
            # private /run/avahi-daemon (avahi's fixed pid file), so parallel runs never collide.
            # cups-pdf writes to ~/PDF: inside the namespace that is our own `paper` folder.
            AVAHI_RUN.mkdir(parents=True, exist_ok=True)
            home_pdf = Path.home() / "PDF"
            home_pdf.mkdir(mode=0o700, exist_ok=True)
            self._holder = subprocess.Popen(
                [
                    "unshare",
                    "--net",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                    "-c",
                    f"ip link set lo up && mount -t tmpfs tmpfs {AVAHI_RUN} && "
                    f"mount --bind {self.pdf_out} {home_pdf} && exec sleep 86400",
                ],
                stdin=subprocess.DEVNULL,
            )
            wait_for(self._netns_ready, 30, "the network namespace")
            env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.root}/dbus.sock"}
            self._spawn(
                ["dbus-daemon", f"--config-file={self.root}/dbus.conf", "--nofork", "--nopidfile"],
                "dbus",
                env,
            )
            wait_for(lambda: (self.root / "dbus.sock").exists(), 30, "dbus")
            self._spawn(
                [
                    "avahi-daemon",
                    "-f",
                    f"{self.root}/avahi.conf",
                    "--no-drop-root",
                    "--no-chroot",
                    "--no-rlimits",
                ],
                "avahi",
                env,
            )
            self._spawn(
                [
                    "ippeveprinter",
                    "-n",
                    "localhost",
                    "-p",
                    str(IPP_PORT),
                    "-d",
                    str(self.ipp_dir / "spool"),
                    "-c",
                    str(self.ipp_dir / "engine.sh"),
                    "-f",
                    "application/pdf",
                    "-m",
                    "Anjungan A4",
                    "AnjunganA4",
                ],
                "ipp",
                env,
            )
            self._spawn(
                [
                    "cupsd",
                    "-f",
                    "-c",
                    f"{self.root}/etc/cupsd.conf",
                    "-s",
                    f"{self.root}/etc/cups-files.conf",
                ],
                "cupsd",
                env,
            )
            wait_for(lambda: Path(self.socket).exists(), 30, "cupsd's socket")
            wait_for(lambda: self._http_get(f"http://localhost:{IPP_PORT}/"), 30, "ippeveprinter")
            self.set_media(loaded=True)
            self.lpadmin(
                PDF_QUEUE,
                "-E",
                "-v",
                "cups-pdf:/",
                "-P",
                "/usr/share/ppd/cups-pdf/CUPS-PDF_noopt.ppd",
            )
            uri = f"ipp://localhost:{IPP_PORT}/ipp/print"
            self.lpadmin(
                IPP_QUEUE, "-E", "-v", uri, "-m", "everywhere", "-o", f"media-default={A4}"
            )
            self.lpadmin(DEAD_QUEUE, "-E", "-v", uri, "-m", "everywhere")
            self.lpadmin(DEAD_QUEUE, "-v", "ipp://localhost:8699/ipp/print")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every daemon (by pid), then remove spool, state, logs and the printed "paper"."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self._procs.clear()
        if self._holder is not None:
            self._holder.kill()
            self._holder.wait(timeout=5)
            self._holder = None
        shutil.rmtree(self.root, ignore_errors=True)

    # -- helpers for tests -----------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Environment pointing CUPS command-line tools at this cupsd."""
        return {**os.environ, "CUPS_SERVER": self.socket}

    def lpadmin(self, queue: str, *args: str) -> None:
        """Run lpadmin against this cupsd; TestbedError on failure."""
        self._run(["lpadmin", "-p", queue, *args])

    def command(self, *args: str) -> None:
        """Run a CUPS command (cupsenable, cupsdisable, cancel...) against this cupsd."""
        self._run(list(args))

    def in_netns(self, args: list[str], timeout: float = 10) -> subprocess.CompletedProcess[bytes]:
        """Run a command inside the test bed's network namespace."""
        assert self._holder is not None, "test bed not started"
        return subprocess.run(
            ["nsenter", "-t", str(self._holder.pid), "-n", "-m", *args],
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def set_media(self, loaded: bool) -> None:
        """Load A4 paper into ippeveprinter's main tray, or empty it (media-empty)."""
        main, bypass = (250, 25) if loaded else (0, 0)
        url = (
            f"http://localhost:{IPP_PORT}/media?size1={A4}&level1={main}&size3={A4}&level3={bypass}"
        )
        if not self._http_get(url):
            raise TestbedError("ippeveprinter's media form did not answer")

    def set_engine(self, *lines: str) -> None:
        """Control the next jobs' engine: 'STATE: +media-jam', 'HOLD', 'FAIL' lines."""
        (self.ipp_dir / "control").write_text("".join(f"{line}\n" for line in lines))

    def printed_titles(self) -> list[str]:
        """Titles of the jobs ippeveprinter finished, oldest first."""
        log = self.ipp_dir / "printed.log"
        return log.read_text().splitlines() if log.exists() else []

    def new_pdfs(self) -> list[Path]:
        """PDFs cups-pdf wrote, oldest first."""
        return sorted(self.pdf_out.glob("*.pdf"), key=lambda p: p.stat().st_mtime)

    def error_log(self) -> str:
        """cupsd's error_log so far (for failure messages)."""
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- internals -------------------------------------------------------------------------
    def _write_configs(self) -> None:
        root = self.root
        for sub in (
            "etc/ppd",
            "etc/ssl",
            "spool/tmp",
            "cache",
            "state",
            "log",
            "ipp/spool",
            "paper",
        ):
            (root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        for sub, mode in (("spool", 0o710), ("spool/tmp", 0o1770)):
            shutil.chown(root / sub, "root", "lp")
            os.chmod(root / sub, mode)
        (root / "etc/cups-files.conf").write_text(_CUPS_FILES.format(root=root))
        (root / "etc/cupsd.conf").write_text(_CUPSD.format(root=root) + "\n" + kiosk_policy())
        (root / "dbus.conf").write_text(_DBUS.format(root=root))
        (root / "avahi.conf").write_text(_AVAHI)
        engine = root / "ipp/engine.sh"
        engine.write_text(_ENGINE.format(root=root))
        engine.chmod(0o755)

    def _http_get(self, url: str) -> bool:
        """GET `url` from inside the namespace (ippeveprinter listens there only)."""
        code = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).read()"
        return self.in_netns([sys.executable, "-c", code, url]).returncode == 0

    def _netns_ready(self) -> bool:
        assert self._holder is not None
        if self._holder.poll() is not None:
            raise TestbedError("unshare --net failed (are you root?)")
        try:
            if os.readlink(f"/proc/{self._holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
                return False
            mounts = Path(f"/proc/{self._holder.pid}/mounts").read_text()
        except OSError:
            return False
        return f" {AVAHI_RUN} tmpfs " in mounts

    def _spawn(self, args: list[str], name: str, env: dict[str, str]) -> None:
        assert self._holder is not None
        log = open(self.root / "log" / f"{name}.out", "wb")
        proc = subprocess.Popen(
            ["nsenter", "-t", str(self._holder.pid), "-n", "-m", *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        self._procs.append(proc)
        time.sleep(0.05)
        if proc.poll() is not None:
            output = (self.root / "log" / f"{name}.out").read_text()
            raise TestbedError(f"{name} exited at once: {output}")

    def _run(self, args: list[str]) -> None:
        done = subprocess.run(args, env=self.env(), capture_output=True, timeout=30, check=False)
        if done.returncode != 0:
            raise TestbedError(f"{' '.join(args)} failed: {done.stderr.decode(errors='replace')}")
