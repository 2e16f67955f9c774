"""Sends the outbox to the central server: once per idempotency key, with exponential backoff
and full jitter, honouring Retry-After, parking permanent refusals for an attendant."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from kiosk_app.central import (
    CentralClient,
    CentralError,
    CentralUnavailable,
    SlotFull,
    SubmissionReceipt,
)
from kiosk_app.services.drain_loop import DrainLoop
from kiosk_app.services.outbox.records import NEEDS_SLOT, REJECTED, RETURNED, Entry
from kiosk_app.services.outbox.store import Outbox
from kiosk_app.services.sealing import OutboxError

log = logging.getLogger(__name__)

SENT, QUEUED = "sent", "queued"
# A queued row's citizen has left with an offline ticket: when their slot filled up meanwhile,
# the server books the nearest free one and tells them (the receipt's slot is kept on the row).
UNATTENDED_IF_FULL = "next_free"
IDLE_POLL_S = 30.0
BATCH_ITEMS = 50  # rows per batch request: one server commit and one kiosk commit for all


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog), capped."""

    base_s: float = 1.0
    cap_s: float = 300.0
    max_retry_after_s: float = 3600.0

    def delay(
        self,
        failures: int,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after `failures` consecutive failures (>= 1)."""
        if retry_after is not None:  # never earlier than the server asked; spread a little
            return min(retry_after, self.max_retry_after_s) + rng() * self.base_s
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(max(failures, 1) - 1, 32))
        return rng() * ceiling


@dataclass(frozen=True)
class SendResult:
    """How one attempt ended: sent, queued (try later), needs_slot, rejected or returned."""

    kind: str
    entry: Entry
    receipt: SubmissionReceipt | None = None
    error: CentralError | None = None
    delay_s: float = 0.0


class OutboxSender(DrainLoop):
    """Sends due rows on a background thread; `send()` is also the session's immediate try."""

    thread_name = "outbox-sender"
    backoff: Backoff

    def __init__(
        self,
        outbox: Outbox,
        central: CentralClient,
        *,
        backoff: Backoff | None = None,
        rng: Callable[[], float] = random.random,
        workers: int = 4,
        batch: int = 200,
        on_sent: Callable[[SendResult], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.central = central
        self.backoff = backoff or Backoff()
        self._rng = rng
        self._workers = max(1, workers)
        self._batch = batch
        self._batch_endpoint = True  # False once the server says it has no batch endpoint
        self._on_sent = on_sent
        self._failures = 0  # consecutive "server unavailable" answers, fleet-wide for this kiosk
        self._paused_until = 0.0
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        super().__init__()

    # -- one attempt -------------------------------------------------------------------------

    def send(
        self, entry: Entry, *, attended: bool = False, timeout: float | None = None
    ) -> SendResult:
        """Try to send one row now. `attended`: the citizen is at the kiosk, so a slot_full or
        a refusal is told on screen (row 'returned') instead of being parked for an attendant."""
        with self._lock:
            if entry.id in self._in_flight:
                return SendResult(QUEUED, entry)
            self._in_flight.add(entry.id)
        try:
            return self._send(entry, attended, timeout)
        finally:
            with self._lock:
                self._in_flight.discard(entry.id)

    def attach_lease(
        self, entry: Entry, book: Callable[[str], Mapping[str, str]]
    ) -> Mapping[str, str] | None:
        """Outbox.attach_lease while no send of the row runs (None when one does, or the
        row is no longer pending): what is sent afterwards carries the lease."""
        with self._lock:
            if entry.id in self._in_flight:
                return None
            self._in_flight.add(entry.id)
        try:
            return self.outbox.attach_lease(entry.id, book)
        finally:
            with self._lock:
                self._in_flight.discard(entry.id)

    def _send(self, entry: Entry, attended: bool, timeout: float | None) -> SendResult:
        where = f"outbox {entry.local_reference} (key {entry.idempotency_key[:8]})"
        try:
            submission = self.outbox.submission(entry.id)
            receipt = self.central.submit(
                **submission.request(),
                idempotency_key=entry.idempotency_key,
                local_reference=entry.local_reference,
                timeout=timeout,
                if_slot_full="refuse" if attended else UNATTENDED_IF_FULL,
            )
            uploads = self.outbox.attachments(entry.id)
            for item in uploads:  # PUT: a resend after a crash replaces, never doubles
                self.central.upload_scan(receipt.registration_number, item.name, item.data)
        except CentralUnavailable as exc:
            if exc.retry_after is None:
                self.server_unreachable()
            with self._lock:
                self._failures += 1
                delay = self.backoff.delay(self._failures, exc.retry_after, self._rng)
                self._paused_until = max(self._paused_until, time.monotonic() + delay)
            self.outbox.mark_retry(entry.id, delay, str(exc))
            log.info("%s not sent (%s); retry in %.1f s", where, exc.status or "no answer", delay)
            return SendResult(QUEUED, entry, error=exc, delay_s=delay)
        except CentralError as exc:
            self._answered()
            status = RETURNED if attended else NEEDS_SLOT if isinstance(exc, SlotFull) else REJECTED
            self.outbox.mark_final(entry.id, status, str(exc))
            log.warning("%s refused by the server: %s (status %s)", where, exc, status)
            return SendResult(status, self.outbox.get(entry.id), error=exc)
        except OutboxError as exc:  # wiped or undecryptable: nothing left to send
            log.error("%s cannot be sent: %s", where, exc)
            if self.outbox.get(entry.id).status == "pending":
                self.outbox.mark_final(entry.id, REJECTED, str(exc))
            return SendResult(REJECTED, self.outbox.get(entry.id))
        except Exception as exc:  # a bug must not lose the row: keep it and back off
            log.exception("%s: sending crashed", where)
            with self._lock:
                self._failures += 1
                delay = self.backoff.delay(self._failures, None, self._rng)
            self.outbox.mark_retry(entry.id, delay, f"{type(exc).__name__}")
            return SendResult(QUEUED, entry, delay_s=delay)
        self._answered()
        self.outbox.mark_sent(
            entry.id, receipt.registration_number, receipt.queue_number, receipt.slot
        )
        if receipt.slot != entry.slot:
            log.info("%s: slot %s full, booked %s instead", where, entry.slot, receipt.slot)
        log.info("%s sent: %s", where, receipt.registration_number)
        result = SendResult(SENT, self.outbox.get(entry.id), receipt=receipt)
        if self._on_sent is not None:
            self._on_sent(result)
        return result

    def _answered(self) -> None:
        with self._lock:
            self._failures = 0
            self._paused_until = 0.0

    def _bring_forward(self) -> int:
        """After an outage: the pause ends and every pending row is due now."""
        self._answered()
        return self.outbox.bring_forward()

    # -- draining ----------------------------------------------------------------------------

    def drain_once(self) -> int:
        """Send every due row until none is due or the server stops answering; return sent."""
        sent = 0
        with ThreadPoolExecutor(self._workers, thread_name_prefix="outbox-send") as pool:
            while not self._stop.is_set() and time.monotonic() >= self._paused_until:
                with self._lock:
                    busy = set(self._in_flight)
                due = [e for e in self.outbox.due(self._batch) if e.id not in busy]
                if not due:
                    break
                scanned = self.outbox.with_attachments([e.id for e in due])
                alone = [e for e in due if e.id in scanned or not self._batch_endpoint]
                grouped = [e for e in due if e not in alone]
                jobs = [
                    pool.submit(self.send_batch, grouped[i : i + BATCH_ITEMS])
                    for i in range(0, len(grouped), BATCH_ITEMS)
                ]
                jobs += [pool.submit(lambda e: [self.send(e)], e) for e in alone]
                results = [r for job in jobs for r in job.result()]
                sent += sum(r.kind == SENT for r in results)
                if any(r.kind == QUEUED for r in results):
                    break  # the server is down or busy: wait for the backoff
        return sent

    def send_batch(self, entries: list[Entry]) -> list[SendResult]:
        """Send rows without scans in one request (one commit on each side); falls back to one
        request per row when the server has no batch endpoint or refuses the batch as a whole."""
        with self._lock:
            entries = [e for e in entries if e.id not in self._in_flight]
            self._in_flight.update(e.id for e in entries)
        try:
            return self._send_batch(entries) if entries else []
        finally:
            with self._lock:
                self._in_flight.difference_update(e.id for e in entries)

    def _send_batch(self, entries: list[Entry]) -> list[SendResult]:
        where = f"outbox batch {entries[0].local_reference}..{entries[-1].local_reference}"
        found = self.outbox.submissions([e.id for e in entries])
        results: list[SendResult] = []
        items, ready = [], []
        for entry in entries:
            submission = found[entry.id]
            if isinstance(submission, OutboxError):
                log.error("outbox %s cannot be sent: %s", entry.local_reference, submission)
                self.outbox.mark_final(entry.id, REJECTED, str(submission))
                results.append(SendResult(REJECTED, self.outbox.get(entry.id)))
                continue
            items.append(
                (
                    entry.idempotency_key,
                    {
                        **submission.request(),
                        "local_reference": entry.local_reference,
                        "if_slot_full": UNATTENDED_IF_FULL,
                    },
                )
            )
            ready.append(entry)
        if not ready:
            return results
        try:
            answers = self.central.submit_batch(items)
        except CentralUnavailable as exc:
            delay = self._unavailable(exc.retry_after)
            self.outbox.mark_retry_many([e.id for e in ready], delay, str(exc))
            log.info("%s not sent (%s); retry in %.1f s", where, exc.status or "no answer", delay)
            return results + [SendResult(QUEUED, e, error=exc, delay_s=delay) for e in ready]
        except CentralError as exc:  # no batch endpoint, or one bad row spoils the batch
            if exc.status in (404, 405):
                log.warning("the central server has no batch endpoint; sending one by one")
                self._batch_endpoint = False
            return results + [self._send(e, False, None) for e in ready]  # already in flight
        except Exception:  # a bug must not lose the rows: keep them and back off
            log.exception("%s: sending crashed", where)
            delay = self._unavailable(None)
            self.outbox.mark_retry_many([e.id for e in ready], delay, "batch crashed")
            return results + [SendResult(QUEUED, e, delay_s=delay) for e in ready]
        self._answered()
        sent = [
            (e, a) for e, a in zip(ready, answers, strict=True) if isinstance(a, SubmissionReceipt)
        ]
        self.outbox.mark_sent_many(
            [(e.id, a.registration_number, a.queue_number) for e, a in sent],
            {e.id: a.slot for e, a in sent},
        )
        log.info("%s: %d sent", where, len(sent))
        for entry, answer in zip(ready, answers, strict=True):
            if isinstance(answer, SubmissionReceipt):
                done = replace(
                    entry,
                    status=SENT,
                    registration_number=answer.registration_number,
                    queue_number=answer.queue_number,
                    slot=answer.slot,
                )
                result = SendResult(SENT, done, receipt=answer)
                if self._on_sent is not None:
                    self._on_sent(result)
            elif isinstance(answer, CentralUnavailable):
                delay = self.backoff.delay(1, answer.retry_after, self._rng)
                self.outbox.mark_retry(entry.id, delay, str(answer))
                result = SendResult(QUEUED, entry, error=answer, delay_s=delay)
            else:
                status = NEEDS_SLOT if isinstance(answer, SlotFull) else REJECTED
                self.outbox.mark_final(entry.id, status, str(answer))
                log.warning(
                    "outbox %s refused by the server: %s (status %s)",
                    entry.local_reference,
                    answer,
                    status,
                )
                result = SendResult(status, self.outbox.get(entry.id), error=answer)
            results.append(result)
        return results

    def _unavailable(self, retry_after: float | None) -> float:
        """Count a failure to reach the server; return the delay before the next try."""
        if retry_after is None:
            self.server_unreachable()
        with self._lock:
            self._failures += 1
            delay = self.backoff.delay(self._failures, retry_after, self._rng)
            self._paused_until = max(self._paused_until, time.monotonic() + delay)
        return delay

    def _next_wait(self) -> float:
        """Seconds until the pause ends or the next row is due (at most IDLE_POLL_S)."""
        pause = self._paused_until - time.monotonic()
        due_at = self.outbox.next_due_at()
        row = IDLE_POLL_S if due_at is None else due_at - time.time()
        return min(IDLE_POLL_S, max(0.01, pause, row))
