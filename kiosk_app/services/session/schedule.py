"""The schedule journey: the verification slots offered for the chosen service; while the central
server cannot be reached, the slots of this kiosk's leases (booked here, certain all the same)."""

from __future__ import annotations

import logging

from kiosk_app.central import CentralClient, CentralError, SlotAvailability
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.durable import StorageError
from kiosk_app.services.leases import LeaseStore
from kiosk_app.services.session.core import SessionCore

log = logging.getLogger("kiosk_app.services.session.service")

SLOTS_FAILED = Text(
    "Jadwal verifikasi tidak dapat dimuat. Sentuh Kembali lalu Lanjut untuk mencoba lagi.",
    "The verification schedule could not be loaded. Touch Back, then Next to try again.",
)
NO_LEASE = Text(
    "Server pusat sedang tidak dapat dihubungi dan anjungan ini belum menyimpan jadwal cadangan "
    "untuk layanan ini, jadi jadwal belum dapat dipilih. Silakan ke loket pelayanan, atau coba "
    "lagi nanti: sentuh Kembali lalu Lanjut.",
    "The central server cannot be reached and this kiosk holds no reserved appointments for "
    "this service, so no date can be chosen yet. Please go to the service counter, or try again "
    "later: touch Back, then Next.",
)


class ScheduleJourney:
    """Loads the slots of the SCHEDULE state on the session's worker."""

    def __init__(
        self, core: SessionCore, central: CentralClient, leases: LeaseStore | None = None
    ) -> None:
        """Nothing loaded until the form (or the scanning step) reaches the schedule;
        `leases`: offered while the server cannot be reached (None: no offline slots)."""
        self._core = core
        self._central = central
        self._leases = leases
        self._slots: tuple[SlotAvailability, ...] = ()
        self._leased: dict[Slot, str] = {}  # slot -> lease id, when offered from a lease
        self._offline = False
        self._loading = False
        core.on_visit_end(self._wipe)

    def slots(self) -> tuple[SlotAvailability, ...]:
        """The slots loaded for the view (lock held)."""
        return self._slots

    def leased(self, slot: Slot) -> str | None:
        """The lease `slot` was offered from, or None when the server offered it (lock held)."""
        return self._leased.get(slot)

    def offline(self) -> bool:
        """True when the slots shown came while the server could not be reached (lock held)."""
        return self._offline

    def loading(self) -> bool:
        """True while the slots are being loaded (lock held)."""
        return self._loading

    def load(self) -> None:
        """(Re)load the chosen service's slots in the background."""
        core = self._core
        with core.lock:
            self._loading = True
            service = core.machine.service or ""
            generation = core.generation
        core.publish()
        core.run(self._job, service, generation)

    def _job(self, service: str, generation: int) -> None:
        message: Text | None = None
        leased: dict[Slot, str] = {}
        offline = False
        try:
            slots = tuple(self._central.slots(service))
            slots, leased = self._with_own_places(service, slots)
        except CentralError as exc:
            log.warning("loading slots failed: %s", exc)
            slots, message = (), exc.citizen_message
            if exc.retriable:
                offline = True
                slots, leased, message = self._from_leases(service, message)
        except Exception:  # never let the worker die silently
            log.exception("loading slots crashed")
            slots, message = (), SLOTS_FAILED
        core = self._core
        with core.lock:
            if not core.is_current(generation):
                return
            self._slots, self._loading, core.message = slots, False, message
            self._leased, self._offline = leased, offline
        core.publish()

    def _with_own_places(
        self, service: str, slots: tuple[SlotAvailability, ...]
    ) -> tuple[tuple[SlotAvailability, ...], dict[Slot, str]]:
        """The server's slots, plus this kiosk's own leased places where the server shows none
        left (the places lent to this kiosk are not offered to anyone by the server)."""
        if self._leases is None:
            return slots, {}
        try:
            offered = self._leases.offer(service)
        except StorageError as exc:
            log.error("leases unreadable: %s", exc)
            return slots, {}
        open_ = {s.slot for s in slots if s.remaining > 0}
        own = {item.slot: item for item in offered if item.slot not in open_}
        if not own:
            return slots, {}
        merged = {s.slot: s for s in slots}
        merged.update({k: SlotAvailability(k, item.remaining) for k, item in own.items()})
        ordered = tuple(merged[k] for k in sorted(merged, key=lambda s: (s.date, s.window)))
        return ordered, {k: item.lease_id for k, item in own.items()}

    def _from_leases(
        self, service: str, message: Text | None
    ) -> tuple[tuple[SlotAvailability, ...], dict[Slot, str], Text | None]:
        """The server cannot be reached: the slots of this kiosk's leases for `service`."""
        if self._leases is None:
            return (), {}, message
        try:
            offered = self._leases.offer(service)
        except StorageError as exc:  # the lease file cannot be read: as if none were held
            log.error("leases unreadable: %s", exc)
            offered = []
        if not offered:
            log.warning("no lease covers %s: no slot can be offered offline", service)
            return (), {}, NO_LEASE
        log.info("central unreachable; offering %d leased slot(s) of %s", len(offered), service)
        slots = tuple(SlotAvailability(item.slot, item.remaining) for item in offered)
        return slots, {item.slot: item.lease_id for item in offered}, None

    def _wipe(self) -> None:
        self._slots, self._loading, self._leased, self._offline = (), False, {}, False
