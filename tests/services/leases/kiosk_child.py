"""Outage kiosk child: one kiosk of the outage rig in its own OS process.

The real composition root (bootstrap.build_kiosk: its own data dir, outbox, lease keeper,
signing key, simulated devices) talking HTTP to the central server through the fault proxy,
driven through its session like a citizen at the screen. The parent (outage_rig) sends one
JSON command a line on stdin and reads one JSON reply a line on stdout:

  {"op": "held", "service": S|null}  -> {"held": places still bookable from the leases}
  {"op": "visits", "count": N, "seed": S, "pause_s": P} -> {"done": N} once N visits ended
  {"op": "renew"}                    -> {"renewed": the lease keeper's round succeeded}
  {"op": "pending"}                  -> {"pending": rows waiting in the outbox}
  {"op": "quit"}                     -> the kiosk closes, the process exits
A command that fails replies {"error": traceback}. "ready" is the first line once built.

What every visit ended with goes to the journal (JOURNAL in the data dir, one JSON line,
fsynced) only after the citizen left with it, where the kiosk would have printed the ticket:
a kiosk SIGKILLed mid-day leaves exactly its acknowledged visits there, and one restarted on
the same data dir appends to it.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from drivers.card_reader.citizens import citizen_count
from kiosk_app.bootstrap import Kiosk, build_kiosk
from kiosk_app.config import load_config
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.session import SessionState, Timeouts
from kiosk_app.services.session.views import SessionView

SERVICE = "akta_kelahiran"
JOURNAL = "visits.jsonl"
VIEW_TIMEOUT_S = 60.0  # a hang detector: a view on a busy machine (the submit tries 3 s first)


def kiosk_id(index: int) -> str:
    """The fleet's name for kiosk number `index`."""
    return f"KIOSK-OUT-{index:02d}"


def build(index: int, data_dir: Path, central_url: str, verify_url: str) -> Kiosk:
    """Kiosk number `index` on `data_dir`, talking to `central_url`."""
    config = load_config(
        None,
        kiosk_id=kiosk_id(index),
        kiosk_name=f"outage kiosk {index}",
        central_url=central_url,
        verify_url=verify_url,
        data_dir=data_dir,
        headless=True,
        audio_guidance="off",
        timeouts=Timeouts(goodbye_s=0.05),
    )
    config.devices.card_read_delay_s = 0.01
    kiosk = build_kiosk(config)
    kiosk.central.timeout = 10.0
    return kiosk


def _view(kiosk: Kiosk, predicate: Callable[[SessionView], bool], what: str) -> SessionView:
    """The session's view once `predicate` holds; AssertionError after VIEW_TIMEOUT_S."""
    session = kiosk.session
    deadline = time.monotonic() + VIEW_TIMEOUT_S
    while True:
        session.tick()
        if predicate(session.view):
            return session.view
        if time.monotonic() > deadline:
            raise AssertionError(f"{kiosk.config.kiosk_id}: timed out waiting for {what}")
        time.sleep(0.01)


def visit(kiosk: Kiosk, rng: random.Random) -> dict[str, Any]:
    """One citizen's visit: card, form, schedule, submit. What they left with: a ticket, or
    turned away (no slot offered), or failed (the submission's message)."""
    session, values = kiosk.session, sample_birth_values()
    _view(kiosk, lambda v: v.state is SessionState.ATTRACT, "attract")
    session.simulate_card_tap(rng.randrange(citizen_count()))
    _view(kiosk, lambda v: v.state is SessionState.IDENTITY, "identity")
    session.continue_to_menu()
    session.choose_service(SERVICE)
    form = SERVICES[SERVICE].form
    assert form is not None
    for index in range(len(form.pages)):
        for name in form.page_fields(index):
            session.set_value(name, values[name])
        session.next_page()
    _view(kiosk, lambda v: v.state is SessionState.SCAN, "scan step")
    session.scan_skip_all()
    view = _view(
        kiosk, lambda v: v.state is SessionState.SCHEDULE and not v.slots_loading, "schedule"
    )
    open_slots = [s.slot for s in view.slots if s.remaining > 0]
    if not open_slots:
        _leave(kiosk)
        return {"kind": "turned_away"}
    session.choose_slot(rng.choice(open_slots))
    _view(kiosk, lambda v: v.state is SessionState.REVIEW, "review")
    session.submit()
    view = _view(
        kiosk,
        lambda v: v.state is SessionState.RESULT or (v.message is not None and not v.busy),
        "result",
    )
    if view.state is not SessionState.RESULT or view.outcome is None:
        _leave(kiosk)
        return {"kind": "failed", "message": str(view.message)}
    outcome = view.outcome
    printer: Any = kiosk.devices.ticket_printer  # the simulator keeps what it printed
    found = {
        "kind": "ticket",
        "kiosk_id": kiosk.config.kiosk_id,
        "offline": outcome.offline,
        "local_reference": outcome.local_reference,
        "registration_number": outcome.registration_number,
        "slot_date": outcome.slot.date.isoformat(),
        "slot_window": outcome.slot.window,
        "qr": printer.tickets[-1].qr_payload,
    }
    _leave(kiosk)
    return found


def _leave(kiosk: Kiosk) -> None:
    """The citizen takes the card and goes (the survey skipped): the kiosk waits for the next."""
    session = kiosk.session
    session.finish()
    if session.view.state is SessionState.SURVEY:
        session.survey_skip()
    session.simulate_card_removal()
    _view(kiosk, lambda v: v.state is SessionState.ATTRACT, "the next citizen")


class Journal:
    """The visits' outcomes, appended and fsynced one JSON line each."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, record: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record) + "\n").encode())
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def read_journal(data_dir: Path) -> list[dict[str, Any]]:
    """The journal's records (none yet: empty); a line cut short by a kill is left out."""
    try:
        lines = (data_dir / JOURNAL).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def held(kiosk: Kiosk, service: str | None) -> int:
    """Places the kiosk can still book from its leases (of `service`, or of every one)."""
    assert kiosk.leases is not None
    usage = kiosk.leases.store.usage()
    return sum(u.places - u.used for u in usage if service is None or u.service == service)


def answer(kiosk: Kiosk, journal: Journal, command: dict[str, Any]) -> dict[str, Any]:
    """The reply to one command (other than quit)."""
    op = command["op"]
    if op == "held":
        return {"held": held(kiosk, command.get("service"))}
    if op == "visits":
        rng = random.Random(command["seed"])
        for _ in range(command["count"]):
            journal.append(visit(kiosk, rng))
            time.sleep(rng.uniform(0, command.get("pause_s", 0.0)))
        return {"done": command["count"]}
    if op == "renew":
        assert kiosk.leases is not None
        return {"renewed": kiosk.leases.drain_once()}
    if op == "pending":
        assert kiosk.outbox is not None
        return {"pending": kiosk.outbox.outbox.depth()}
    raise ValueError(f"unknown command {op!r}")


def serve(kiosk: Kiosk, journal: Journal, commands: TextIO, replies: TextIO) -> None:
    """Answer commands until quit or the parent closes stdin."""
    replies.write(json.dumps({"ready": kiosk.config.kiosk_id}) + "\n")
    replies.flush()
    for line in commands:
        command = json.loads(line)
        if command["op"] == "quit":
            return
        try:
            reply = answer(kiosk, journal, command)
        except Exception:  # reported to the parent, which fails the run with it
            reply = {"error": traceback.format_exc()}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main(index: int, data_dir: Path, central_url: str, verify_url: str) -> None:
    """Build the kiosk and serve the parent's commands on stdin/stdout."""
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything else printed goes to the log, not into the replies
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    kiosk = build(index, data_dir, central_url, verify_url)
    journal = Journal(data_dir / JOURNAL)
    try:
        serve(kiosk, journal, sys.stdin, replies)
    finally:
        journal.close()
        kiosk.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4])
