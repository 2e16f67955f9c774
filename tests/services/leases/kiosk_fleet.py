"""The outage rig's kiosks, each its own OS process (kiosk_child): started, driven through JSON
lines on its stdin/stdout, SIGKILLed and restarted on the same data dir. What the citizens
left with is read from each kiosk's journal file, never from the kiosk's memory."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.services.leases.kiosk_child import kiosk_id, read_journal

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 60.0  # a kiosk process importing and building on a busy machine
# A hang detector, not a speed check: a renewal waits for the keeper's round in progress, then
# makes its own, each of its calls allowed leases.CALL_TIMEOUT_S on a busy server.
REPLY_TIMEOUT_S = 120.0
VISITS_TIMEOUT_S = 600.0  # a phase of visits; each view inside has its own 60 s bound


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.01
) -> None:
    """Poll `predicate` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@dataclass(frozen=True)
class Ticket:
    """What a citizen left a kiosk with (a journal record)."""

    kiosk_id: str
    offline: bool
    local_reference: str
    registration_number: str
    slot_date: str  # ISO date
    slot_window: str
    qr: str


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Copy a child's reply lines into `lines`; None once it closed them (exit or kill)."""
    for line in stream:
        lines.put(line)
    lines.put(None)


@dataclass
class FleetKiosk:
    """One kiosk process of the fleet, its data dir, and what its citizens got."""

    index: int
    data_dir: Path
    central_url: str
    verify_url: str
    restarts: int = 0  # times it was SIGKILLed and started again on its data dir
    process: subprocess.Popen[str] | None = field(default=None, repr=False)
    _replies: queue.Queue[str | None] = field(default_factory=queue.Queue, repr=False)

    @property
    def kiosk_id(self) -> str:
        return kiosk_id(self.index)

    @property
    def log_file(self) -> Path:
        """The kiosk process's stderr (its log), kept beside its data dir."""
        return self.data_dir.with_suffix(".log")

    def start(self) -> None:
        """Start the kiosk process on its data dir (not waiting for it to be ready)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.services.leases.kiosk_child",
                    str(self.index),
                    str(self.data_dir),
                    self.central_url,
                    self.verify_url,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                cwd=ROOT,
            )
        self._replies = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(
            target=_pump, args=(self.process.stdout, self._replies), daemon=True
        ).start()

    def wait_ready(self) -> None:
        """Return once the kiosk process built its kiosk."""
        self.reply(START_TIMEOUT_S, "ready")

    def send(self, op: str, **arguments: Any) -> None:
        """Send one command (see kiosk_child)."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()

    def reply(self, timeout: float, key: str) -> Any:
        """The value under `key` of the next reply; AssertionError (with the kiosk's log) when
        the process failed, died or took longer than `timeout`."""
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(self._trouble(f"no reply in {timeout} s")) from None
        if line is None:
            raise AssertionError(self._trouble("the process ended"))
        answer = json.loads(line)
        if key not in answer:
            raise AssertionError(self._trouble(answer.get("error", line)))
        return answer[key]

    def ask(self, op: str, key: str, **arguments: Any) -> Any:
        """Send a command and return its reply's `key`."""
        self.send(op, **arguments)
        return self.reply(REPLY_TIMEOUT_S, key)

    def kill(self) -> None:
        """SIGKILL the kiosk process, as a power cut would stop it."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def restart(self) -> None:
        """SIGKILL it and start it again on the same data dir; return once it is ready."""
        self.kill()
        self.restarts += 1
        self.start()
        self.wait_ready()

    def stop(self) -> None:
        """Ask the kiosk to close (stop_wait() waits for it)."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            self.send("quit")
        except OSError:  # already gone
            pass

    def stop_wait(self) -> None:
        """Wait for the kiosk to exit after stop(); kill it if it does not."""
        if self.process is None:
            return
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def _trouble(self, what: str) -> str:
        try:
            log = self.log_file.read_text(encoding="utf-8", errors="replace")[-3000:]
        except OSError:
            log = ""
        return f"{self.kiosk_id}: {what}\n--- its log (last lines) ---\n{log}"

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every visit's outcome so far, from the kiosk's journal file."""
        return read_journal(self.data_dir)

    @property
    def bookings(self) -> list[Ticket]:
        """The tickets its citizens left with."""
        return [
            Ticket(**{k: v for k, v in r.items() if k != "kind"})
            for r in self.records
            if r["kind"] == "ticket"
        ]

    @property
    def turned_away(self) -> int:
        """Visits with no slot offered."""
        return sum(r["kind"] == "turned_away" for r in self.records)

    @property
    def failed(self) -> list[str]:
        """The messages of visits whose submission failed."""
        return [r["message"] for r in self.records if r["kind"] == "failed"]


def build_fleet(work: Path, central_urls: Sequence[str], public_url: str) -> list[FleetKiosk]:
    """A kiosk process for each of `central_urls` (kiosk i talks to central_urls[i]), each with
    its own data dir under `work`; started side by side, returned once all are ready."""
    fleet = [
        FleetKiosk(index, work / f"kiosk-{index:02d}", url, public_url)
        for index, url in enumerate(central_urls)
    ]
    try:
        for item in fleet:
            item.start()
        for item in fleet:
            item.wait_ready()
    except BaseException:
        close_fleet(fleet)
        raise
    return fleet


def close_fleet(fleet: list[FleetKiosk]) -> None:
    """Stop every kiosk process (side by side)."""
    for item in fleet:
        item.stop()
    for item in fleet:
        item.stop_wait()


def leases_held(item: FleetKiosk, service: str | None = None) -> int:
    """Places the kiosk can still book from its leases (of `service`, or of every one)."""
    return int(item.ask("held", "held", service=service))


def renew(fleet: list[FleetKiosk]) -> list[bool]:
    """One lease-keeper round at every kiosk (renewed with the use just seen)."""
    return [bool(item.ask("renew", "renewed")) for item in fleet]


def pending(fleet: list[FleetKiosk]) -> int:
    """Rows still waiting in the fleet's outboxes."""
    return sum(int(item.ask("pending", "pending")) for item in fleet)


def run_visits(
    fleet: list[FleetKiosk],
    per_kiosk: int,
    seed: int,
    *,
    kill: Sequence[int] = (),
    kill_after: int = 1,
    pause_s: float = 0.0,
) -> None:
    """`per_kiosk` visits at every kiosk, the kiosk processes side by side, up to `pause_s`
    apart at random. The kiosks numbered in `kill` are SIGKILLed once `kill_after` of their
    visits ended (so in the middle of the next one), started again on their data dir, and
    make the visits left."""
    assert kill_after < per_kiosk or not kill, "the kill would land after the last visit"
    before = {item.index: len(item.records) for item in fleet}
    for item in fleet:
        item.send("visits", count=per_kiosk, seed=seed * 1000 + item.index, pause_s=pause_s)
    for index in kill:
        _kill_mid_visit(fleet[index], per_kiosk, kill_after, seed, pause_s, before[index])
    for item in fleet:
        item.reply(VISITS_TIMEOUT_S, "done")


def _kill_mid_visit(
    item: FleetKiosk, per_kiosk: int, kill_after: int, seed: int, pause_s: float, before: int
) -> None:
    """SIGKILL `item` once `kill_after` visits of this phase ended, restart it, and send it
    the visits left (its journal had `before` records when the phase began)."""
    wait_until(
        lambda: len(item.records) - before >= kill_after,
        VISITS_TIMEOUT_S,
        f"{item.kiosk_id}: {kill_after} visit(s) before its kill",
        every=0.002,
    )
    item.restart()
    left = per_kiosk - (len(item.records) - before)
    item.send(
        "visits", count=left, seed=seed * 1000 + item.index + 500 * item.restarts, pause_s=pause_s
    )
