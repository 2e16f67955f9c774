"""The form journey: the menu's service choice, the form's pages, the review's edits."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.form_variants import skipped_pages
from kiosk_app.domain.formkit import from_nik
from kiosk_app.domain.forms import FormSpec
from kiosk_app.domain.session import SessionState
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.session.core import SessionCore
from kiosk_app.services.session.ports import ScanStart, SlotLoader

NOT_BUILT = Text(
    "Layanan ini belum tersedia di anjungan. Silakan ke loket pelayanan.",
    "This service is not available on the kiosk yet. Please go to the service counter.",
)
FEATURE_NOT_BUILT: dict[str, Text] = {}  # menu extras not built yet (none left)


class FormJourney:
    """Citizen actions of the IDENTITY, MENU, FORM, SCHEDULE and REVIEW states."""

    def __init__(self, core: SessionCore, *, scans: ScanStart | None, schedule: SlotLoader) -> None:
        """`scans`: the scanning step after the form (None: form -> schedule)."""
        self._core = core
        self._scans = scans
        self._schedule = schedule
        self._errors: Mapping[str, Text] = {}  # the current page's field messages
        self._prefill: dict[str, str] = {}  # what the form started with (from the card)
        self._derived: dict[str, str] = {}  # sex and birth dates filled from a typed NIK
        core.on_visit_end(self._wipe)

    def errors(self) -> Mapping[str, Text]:
        """The field messages for the view (lock held)."""
        return dict(self._errors)

    def continue_to_menu(self) -> None:
        """Identity confirmed: show the menu."""
        self._step(lambda now: self._core.machine.to_menu(now))

    def choose_service(self, key: str) -> bool:
        """Open a service's form (True), or say plainly that it is not built yet."""
        core, info = self._core, SERVICES.get(key)
        started = False
        with core.lock:
            m = core.machine
            if m.state is not SessionState.MENU:
                return False
            core.touch()
            if info is None or info.form is None:
                core.message = FEATURE_NOT_BUILT.get(key, NOT_BUILT)
            else:
                prefill = info.prefill(m.identity) if m.identity else {}
                scan = self._scans is not None and bool(info.required_documents)
                started = m.start_form(
                    key, len(info.form.pages), prefill, core.now(), scan_step=scan
                )
                self._prefill = dict(prefill)
                self._derived = {}
                core.message = None
                self._errors = {}
        core.publish()
        return started

    def typed_data(self) -> bool:
        """True when the citizen entered something in the open form beyond what was prefilled
        (going back to the menu would discard it)."""
        with self._core.lock:
            m = self._core.machine
            if m.state is not SessionState.FORM:
                return False
            return any(
                value.strip() and value != self._prefill.get(name, "")
                for name, value in m.values.items()
            )

    def set_value(self, name: str, value: str) -> None:
        """Store what the citizen entered in a field; a NIK also fills that person's sex and
        birth date when they are empty (or were filled from an earlier NIK)."""
        core = self._core
        with core.lock:
            m = core.machine
            changed = m.set_value(name, value, core.now())
            touched = {name} if changed else set()
            form = self._form()
            if changed and form is not None:
                names = {f.name for page in form.pages for f in page.fields}
                for key, derived in from_nik(names, name, value).items():
                    if not m.values.get(key) or m.values.get(key) == self._derived.get(key):
                        m.set_value(key, derived, core.now())
                        self._derived[key] = derived
                        touched.add(key)
            if touched & set(self._errors):
                self._errors = {k: v for k, v in self._errors.items() if k not in touched}
        core.publish()

    def next_page(self) -> None:
        """Validate the page; move on when it is valid, otherwise show the messages."""
        core = self._core
        with core.lock:
            m, form = core.machine, self._form()
            if core.state() is not SessionState.FORM or form is None:
                return
            result = form.validate_page(m.page, m.values)
            self._errors = dict(result.errors)
            if result.ok:
                m.next_page(core.now())
                self._skip_other_variants(m.next_page)
            else:
                core.touch()
            state = core.state()
            if state is SessionState.SCAN and self._scans is not None:
                self._scans.begin(SERVICES[m.service or ""].required_documents)
        core.publish()
        if result.ok and state is SessionState.SCHEDULE:
            self._schedule.load()

    def previous_page(self) -> None:
        """Go one step back."""
        core = self._core
        with core.lock:
            if core.machine.state is SessionState.SCHEDULE and self._scans is not None:
                self._scans.reopen()  # back to the scanning step: its last document

        def back(now: float) -> bool:
            moved = core.machine.previous_page(now)
            if moved:
                self._skip_other_variants(core.machine.previous_page)
            return moved

        self._step(back)

    def edit_page(self, index: int) -> None:
        """From the review, go back to a form page."""
        self._step(lambda now: self._core.machine.edit_page(index, now))

    def choose_slot(self, slot: Slot) -> None:
        """The citizen picked a verification date and window."""
        self._step(lambda now: self._core.machine.choose_slot(slot, now))

    # -- internals ---------------------------------------------------------------------------
    def _step(self, action: Callable[[float], bool]) -> None:
        core = self._core
        with core.lock:
            if action(core.now()):
                core.message = None
                self._errors = {}
        core.publish()

    def _form(self) -> FormSpec | None:
        info = SERVICES.get(self._core.machine.service or "")
        return info.form if info else None

    def _skip_other_variants(self, move: Callable[[float], bool]) -> None:
        """Pass over form pages that belong only to a variant the citizen did not choose."""
        m, form = self._core.machine, self._form()
        skipped = skipped_pages(m.service or "", form, m.values) if form else frozenset()
        while m.state is SessionState.FORM and m.page in skipped:
            if not move(self._core.now()):
                break

    def _wipe(self) -> None:
        self._errors = {}
        self._prefill = {}
        self._derived = {}
