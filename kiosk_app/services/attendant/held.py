"""The attendant's list of outbox rows held for them (refused by the central server, or no place
left in the booking horizon): sent again or marked handled, never deleted."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.dates import local_time, long_date
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.speech import join
from kiosk_app.domain.text import Text
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.outbox.records import NEEDS_SLOT, Entry, Submission
from kiosk_app.services.outbox.sender import QUEUED, SENT, OutboxSender

RETRY_HOLD_S = 120.0  # the background sender keeps off a row while the attendant's try runs
RETRY_TIMEOUT_S = 10.0
MAX_REASON = 160
# CentralClient's error lines: "...: HTTP 422 code: what the server said"
_SERVER_SAID = re.compile(r"HTTP (\d{3}) (\S+): (.*)$", re.S)


@dataclass(frozen=True)
class HeldItem:
    """One held row as the attendant sees it: no name, the NIK masked at most."""

    entry_id: int
    reference: str  # LOK-...: printed on the citizen's OFFLINE ticket
    service: Text
    queued_at: str  # local time, dd-mm-yyyy HH:MM
    kind: str  # no_place | refused
    reason: Text
    masked_nik: str = ""


def held_reason(entry: Entry) -> Text:
    """Why a row is held, in plain words (the server's own reason when it refused it)."""
    if entry.status == NEEDS_SLOT:
        return T.HELD_NO_PLACE
    said = _SERVER_SAID.search(entry.last_error)
    if said is None:  # never answered: wiped or undecryptable on this kiosk
        return T.HELD_UNSENDABLE.format(reason=entry.last_error[:MAX_REASON] or "-")
    status, code, message = said.groups()
    words = message.strip() or code
    return T.HELD_REFUSED.format(reason=f"{words[:MAX_REASON]} (HTTP {status})")


def _promised(entry: Entry) -> Text:
    """What the citizen's sealed ticket promised: the date and window are certain."""
    return Text(
        *(
            T.HELD_LEASED(lang).format(
                reference=entry.local_reference,
                day=long_date(entry.slot.date, lang),
                window=entry.slot.window,
            )
            for lang in ("id", "en")
        )
    )


class HeldSubmissions:
    """Reads and acts on the held rows of the outbox (blocking: call on a worker thread)."""

    def __init__(self, sender: OutboxSender | None) -> None:
        """`sender`: the kiosk's outbox sender (None: no outbox, nothing is ever held)."""
        self._sender = sender

    def items(self) -> tuple[HeldItem, ...]:
        """Every held row, oldest first."""
        if self._sender is None:
            return ()
        outbox = self._sender.outbox
        entries = outbox.held()
        found = outbox.submissions([e.id for e in entries]) if entries else {}
        items = []
        for entry in entries:
            data = found.get(entry.id)
            nik = mask_nik(data.applicant_nik) if isinstance(data, Submission) else ""
            reason = held_reason(entry)
            if isinstance(data, Submission) and data.lease:  # booked offline from a lease
                reason = join(reason, _promised(entry))
            service = (
                SERVICES[entry.service].title
                if entry.service in SERVICES
                else Text(entry.service, entry.service)
            )
            items.append(
                HeldItem(
                    entry.id,
                    entry.local_reference,
                    service,
                    local_time(entry.created_at),
                    "no_place" if entry.status == NEEDS_SLOT else "refused",
                    reason,
                    nik,
                )
            )
        return tuple(items)

    def retry(self, entry_id: int) -> tuple[bool, Text, str, str]:
        """Send a no-place row again now; (sent or queued, message, reference, outcome)."""
        if self._sender is None:
            return False, T.HELD_GONE, "", "no_outbox"
        entry = self._sender.outbox.requeue(entry_id, RETRY_HOLD_S)
        if entry is None:
            return False, T.HELD_GONE, self._reference(entry_id), "not_held"
        result = self._sender.send(entry, timeout=RETRY_TIMEOUT_S)
        ref = entry.local_reference
        if result.kind == SENT and result.receipt is not None:
            slot = result.receipt.slot
            message = Text(
                *(
                    T.HELD_SENT(lang).format(
                        reference=ref,
                        number=result.receipt.registration_number,
                        day=long_date(slot.date, lang),
                        window=slot.window,
                    )
                    for lang in ("id", "en")
                )
            )
            return True, message, ref, SENT
        if result.kind == QUEUED:
            return True, T.HELD_QUEUED.format(reference=ref), ref, QUEUED
        if result.kind == NEEDS_SLOT:
            return False, T.HELD_STILL_NO_PLACE.format(reference=ref), ref, result.kind
        return False, T.HELD_REFUSED_NOW.format(reference=ref), ref, result.kind

    def handled(self, entry_id: int, attendant: str) -> tuple[bool, Text, str]:
        """Mark a held row handled by `attendant`; (done, message, reference)."""
        if self._sender is None:
            return False, T.HELD_GONE, ""
        reference = self._reference(entry_id)
        if not self._sender.outbox.mark_handled(entry_id, attendant):
            return False, T.HELD_GONE, reference
        return True, T.HELD_HANDLED.format(reference=reference), reference

    def _reference(self, entry_id: int) -> str:
        assert self._sender is not None
        try:
            return self._sender.outbox.get(entry_id).local_reference
        except KeyError:
            return ""
