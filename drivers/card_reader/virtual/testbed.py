"""Drive the namespaced PC/SC test bed (pcscd, virtual e-KTP and SAM) from tests and benchmarks."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from drivers.card_reader.virtual.harness import CARD_READER, SAM_READER, requirements_missing

__all__ = ["CARD_READER", "SAM_READER", "Testbed", "TestbedError", "requirements_missing"]

REPO_ROOT = Path(__file__).resolve().parents[3]


class TestbedError(RuntimeError):
    """The harness failed or did not answer in time."""


class Testbed:
    """One harness process; every call waits at most `timeout` seconds for its answer."""

    __test__ = False  # not a pytest test class

    def __init__(self, timeout: float = 15.0) -> None:
        """Prepare; start() launches the namespace."""
        self.timeout = timeout
        self.workdir = Path(tempfile.mkdtemp(prefix="pcsc-testbed-"))
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()

    def start(self) -> Testbed:
        """Launch `unshare --net` + harness and wait until pcscd is up."""
        why = requirements_missing()
        if why:
            raise TestbedError(why)
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            ["unshare", "--net", sys.executable, "-m", "drivers.card_reader.virtual.harness",
             str(self.workdir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
        )  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()
        hello = self._reply()
        if not hello.get("ready"):
            self.close()
            raise TestbedError(f"harness did not start: {hello}")
        return self

    def _pump(self) -> None:
        """Move the harness's stdout lines into a queue (so reads can time out)."""
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _reply(self) -> dict[str, Any]:
        """Wait for the next answer line."""
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise TestbedError(f"harness silent for {self.timeout} s") from None
        if line is None:
            raise TestbedError(f"harness exited (logs in {self.workdir})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def call(self, cmd: str, **args: Any) -> dict[str, Any]:
        """Send one command and return the harness's answer."""
        with self._lock:
            if self._proc is None or self._proc.stdin is None or self._proc.poll() is not None:
                raise TestbedError("harness is not running")
            self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
            self._proc.stdin.flush()
            reply = self._reply()
        if not reply.get("ok") and "error" in reply:
            raise TestbedError(reply["error"])
        return reply

    # -- the commands tests use ------------------------------------------------------------------
    def insert(self, citizen: int = 0, **faults: Any) -> bool:
        """Put citizen `citizen`'s card on the reader with CardFaults `faults`."""
        return bool(self.call("insert", citizen=citizen, faults=faults)["ok"])

    def remove(self) -> None:
        """Take the card off."""
        self.call("remove")

    def set_sam(self, present: bool, **faults: Any) -> None:
        """Insert or remove the SAM; SamFaults `faults` swap in a faulty SAM."""
        self.call("sam", present=present, faults=faults)

    def pcscd(self, action: str) -> None:
        """stop | kill | start | restart | freeze (SIGSTOP) | thaw (SIGCONT) the daemon."""
        self.call("pcscd", action=action)

    def status(self) -> dict[str, Any]:
        """pcscd running, card inserted, APDUs the card answered, SAM inserted."""
        return self.call("status")

    def close(self) -> None:
        """Stop everything inside the namespace and wait for the harness to exit."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin is not None and proc.poll() is None:
                proc.stdin.write('{"cmd": "quit"}\n')
                proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> Testbed:
        """Start on entering a with-block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Close on leaving it."""
        self.close()
