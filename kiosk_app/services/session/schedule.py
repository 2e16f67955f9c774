"""The schedule journey: the verification slots offered for the chosen service."""

from __future__ import annotations

import logging

from kiosk_app.central import CentralClient, CentralError, SlotAvailability
from kiosk_app.domain.text import Text
from kiosk_app.services.session.core import SessionCore

log = logging.getLogger("kiosk_app.services.session.service")

SLOTS_FAILED = Text(
    "Jadwal verifikasi tidak dapat dimuat. Sentuh Kembali lalu Lanjut untuk mencoba lagi.",
    "The verification schedule could not be loaded. Touch Back, then Next to try again.",
)


class ScheduleJourney:
    """Loads the slots of the SCHEDULE state on the session's worker."""

    def __init__(self, core: SessionCore, central: CentralClient) -> None:
        """Nothing loaded until the form (or the scanning step) reaches the schedule."""
        self._core = core
        self._central = central
        self._slots: tuple[SlotAvailability, ...] = ()
        self._loading = False
        core.on_visit_end(self._wipe)

    def slots(self) -> tuple[SlotAvailability, ...]:
        """The slots loaded for the view (lock held)."""
        return self._slots

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
        try:
            slots = tuple(self._central.slots(service))
        except CentralError as exc:
            log.warning("loading slots failed: %s", exc)
            slots, message = (), exc.citizen_message
        except Exception:  # never let the worker die silently
            log.exception("loading slots crashed")
            slots, message = (), SLOTS_FAILED
        core = self._core
        with core.lock:
            if not core.is_current(generation):
                return
            self._slots, self._loading, core.message = slots, False, message
        core.publish()

    def _wipe(self) -> None:
        self._slots, self._loading = (), False
