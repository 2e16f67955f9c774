"""Network faults between the outbox and a real central server, through a fault proxy."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from central_server.embedded import EmbeddedServer
from kiosk_app.central import CentralClient
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from kiosk_app.services.outbox.sender import QUEUED, Backoff, OutboxSender
from kiosk_app.services.outbox.store import Outbox
from tests.services.faultproxy import HOSTILE, FaultProxy
from tests.services.outbox_rig import (
    KIOSK_ID,
    client,
    server_rows,
    slot_plan,
    start_server,
    start_sidecar,
    submission,
)

DAY_OF_SUBMISSIONS = int(os.environ.get("ANJUNGAN_OUTBOX_DRAIN_COUNT", "1000"))


@dataclass
class Net:
    server: EmbeddedServer
    db: Path
    proxy: FaultProxy
    direct: CentralClient  # straight to the server (for slots)
    central: CentralClient  # through the proxy
    outbox: Outbox
    sender: OutboxSender


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    server = start_server(tmp_path / "central.db")
    proxy = FaultProxy(server.port, slow_s=1.5, retry_after="2")
    direct = client(server.base_url)
    central = client(proxy.base_url, token=direct.token, timeout=10.0)  # a busy server answers
    box = Outbox(tmp_path / "outbox.db", bytes(32), KIOSK_ID)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.02, cap_s=0.2), workers=4)
    try:
        yield Net(server, tmp_path / "central.db", proxy, direct, central, box, sender)
    finally:
        sender.stop()
        box.close()
        central.close()
        direct.close()
        proxy.close()
        server.stop()


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("fault", ["down", "slow", "500", "reset", *HOSTILE])
def test_each_fault_keeps_the_row_pending_then_it_is_sent_once(net: Net, fault: str) -> None:
    entry = net.outbox.enqueue(submission(next(slot_plan(net.direct, 1))))
    net.proxy.set_mode(fault)
    result = net.sender.send(entry, timeout=0.5)  # gives up on the slow proxy (1.5 s)
    assert result.kind == QUEUED and result.delay_s <= 0.02
    row = net.outbox.get(entry.id)
    assert row.status == "pending" and row.attempts == 1 and row.last_error
    assert "ANAK" not in row.last_error and net.outbox.depth() == 1
    if fault == "huge":  # refused while reading, not after taking 16 MiB into memory
        assert "refused (too large)" in row.last_error
    net.proxy.set_mode("forward")
    time.sleep(0.05)  # past the backoff
    assert net.sender.drain_once() == 1
    keys = [key for key, _, _ in server_rows(net.db)]
    assert keys == [entry.idempotency_key]  # a slow request the server finished is not doubled


def test_retry_after_of_a_429_is_honoured(net: Net) -> None:
    entry = net.outbox.enqueue(submission(next(slot_plan(net.direct, 1))))
    net.proxy.set_mode("429")
    before = time.time()
    result = net.sender.send(entry)
    assert result.kind == QUEUED and 2.0 <= result.delay_s <= 2.02
    assert net.outbox.get(entry.id).next_attempt_at >= before + 2.0
    assert net.outbox.due() == []
    net.proxy.set_mode("forward")
    assert net.sender.drain_once() == 0  # still paused: the server asked for 2 s
    seen = net.proxy.requests
    time.sleep(2.05)
    assert net.sender.drain_once() == 1 and net.proxy.requests == seen + 1


def test_answer_lost_after_the_server_stored_it_is_not_duplicated(net: Net) -> None:
    entries = [net.outbox.enqueue(submission(s, n)) for n, s in enumerate(slot_plan(net.direct, 5))]
    net.proxy.set_mode("reset_after_forward")
    for entry in entries:
        assert net.sender.send(entry).kind == QUEUED
    assert len(server_rows(net.db)) == 5  # the server has them all, the kiosk does not know
    net.proxy.set_mode("forward")
    time.sleep(0.25)
    assert net.sender.drain_once() == 5
    stored = {key: number for key, _, number in server_rows(net.db)}
    assert len(stored) == 5
    for entry in entries:
        assert net.outbox.get(entry.id).registration_number == stored[entry.idempotency_key]


def test_a_day_of_queued_submissions_drains_after_the_server_returns(tmp_path: Path) -> None:
    server = start_sidecar(tmp_path / "central.db")  # its own process, as in production
    proxy = FaultProxy(server.port)
    direct = client(server.base_url)
    central = client(proxy.base_url, token=direct.token, timeout=30.0)  # a busy server's batch
    box = Outbox(tmp_path / "outbox.db", bytes(32), KIOSK_ID)
    sender = OutboxSender(box, central, backoff=Backoff(base_s=0.05, cap_s=0.5), workers=8)
    try:
        proxy.set_mode("down")
        slots = list(slot_plan(direct, DAY_OF_SUBMISSIONS))
        sender.start()
        entries = [box.enqueue(submission(s, n)) for n, s in enumerate(slots)]
        sender.wake()
        wait_for(lambda: box.get(entries[0].id).attempts >= 2, timeout=60)
        assert box.depth() == DAY_OF_SUBMISSIONS and server_rows(tmp_path / "central.db") == []
        proxy.set_mode("forward")
        sender.wake()
        wait_for(lambda: box.depth() == 0, timeout=300)
        assert box.counts() == {"sent": DAY_OF_SUBMISSIONS}
        keys = [key for key, _, _ in server_rows(tmp_path / "central.db")]
        assert len(keys) == len(set(keys)) == DAY_OF_SUBMISSIONS
        assert set(keys) == {e.idempotency_key for e in entries}
    finally:
        sender.stop()
        box.close()
        central.close()
        direct.close()
        proxy.close()
        server.stop()


def test_the_backlog_is_due_as_soon_as_a_heartbeat_reaches_the_server(
    net: Net, tmp_path: Path
) -> None:
    net.central.on_answer(net.sender.server_answered)  # as bootstrap wires it
    net.proxy.set_mode("down")
    slots = list(slot_plan(net.direct, 20))
    entries = [net.outbox.enqueue(submission(s, n)) for n, s in enumerate(slots)]
    assert net.sender.drain_once() == 0  # no answer: the sender notes the outage
    # Many failures later the rows wait out long jittered backoffs (the cap is 300 s).
    net.outbox.mark_retry_many([e.id for e in entries], 300.0, "server down")
    next_due = net.outbox.next_due_at()
    assert next_due is not None and next_due > time.time() + 200
    net.proxy.set_mode("forward")
    health = HealthReporter(
        central=net.central,
        devices={},
        app_version="test",
        data_dir=tmp_path,
        system=RecordingSystemActions(),
    )
    health.beat_once()  # the server answers the heartbeat...
    next_due = net.outbox.next_due_at()
    assert next_due is not None and next_due <= time.time()  # ...so every row is due now
    net.sender.start()
    wait_for(lambda: net.outbox.depth() == 0, timeout=60)
    assert len(server_rows(net.db)) == 20


def test_a_server_that_asks_to_wait_is_not_hurried_by_other_answers(net: Net) -> None:
    net.central.on_answer(net.sender.server_answered)
    net.proxy.set_mode("429")  # busy, with Retry-After: an answer, not an outage
    entry = net.outbox.enqueue(submission(next(slot_plan(net.direct, 1))))
    assert net.sender.send(entry).kind == QUEUED
    waiting_until = net.outbox.get(entry.id).next_attempt_at
    net.proxy.set_mode("forward")
    net.central.health()  # another request gets through
    assert net.outbox.get(entry.id).next_attempt_at == waiting_until  # Retry-After still holds
