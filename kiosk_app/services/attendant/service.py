"""Attendant mode: unlocked by PIN or card; assists a citizen, checks devices, reprints tickets."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from drivers.document_printer.protocol import ResumeRefused
from drivers.errors import DeviceError
from kiosk_app.domain.identity import Identity, mask_nik
from kiosk_app.domain.nik import parse_nik, validate_nik
from kiosk_app.domain.text import Text
from kiosk_app.services.attendant import texts as T
from kiosk_app.services.attendant.auth import Attendant, AttendantSettings
from kiosk_app.services.attendant.core import AttendantCore, AttendantView, Listener
from kiosk_app.services.attendant.devices import (
    OK_STATES,
    DeviceLine,
    TicketReprinter,
    device_lines,
    queue_stopped,
)
from kiosk_app.services.attendant.held import HeldSubmissions
from kiosk_app.services.durable import StorageError
from kiosk_app.services.outbox.sender import OutboxSender
from kiosk_app.services.printing.journal import PrintJournal
from kiosk_app.services.printing.receipt_vault import ReceiptSealer
from kiosk_app.services.session.hooks import AttendedSession

log = logging.getLogger(__name__)
audit_log = logging.getLogger("anjungan.audit")  # one line per attendant action, no names

MAX_NAME = 60
EXPIRE_EVERY_S = 60.0  # how often kept receipts past their window are wiped
BACKGROUND = frozenset(
    {
        "unlock_with_pin",
        "check_devices",
        "reprint",
        "dismiss",
        "resume_a4",
        "retry_held",
        "mark_handled",
        "grant_priority",
    }
)


class AttendantService:
    """The attendant's side of the kiosk; every assisted action is written to the audit log."""

    def __init__(
        self,
        settings: AttendantSettings,
        *,
        kiosk_id: str,
        session: AttendedSession | None,
        journal: PrintJournal | None,
        ticket_printer: Any,
        devices: Mapping[str, Any] | None = None,
        printing: Any = None,
        clock: Callable[[], float] = time.monotonic,
        receipts: ReceiptSealer | None = None,
        outbox: OutboxSender | None = None,
    ) -> None:
        """`session`: the SessionService; `devices`: name -> driver with status();
        `receipts`: opens the A4 receipts the printing service kept sealed, for a reprint;
        `outbox`: the OutboxSender, whose held rows the attendant retries or marks handled."""
        self._core = AttendantCore(settings, kiosk_id=kiosk_id, session=session, clock=clock)
        self.settings = settings
        self.kiosk_id = kiosk_id
        self._session = session
        self._clock = clock
        self._devices = dict(devices or {})
        self._reprinter = TicketReprinter(
            journal,
            ticket_printer,
            printing,
            self._on_reprinted,
            document_printer=self._devices.get("document_printer"),
            receipts=receipts,
        )
        self._held = HeldSubmissions(outbox)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attendant")
        self._next_expiry = clock() + EXPIRE_EVERY_S
        self.attach()
        # Kept receipts a previous run left past their window are wiped first.
        self._worker.submit(self._run_quietly, self._reprinter.expire)

    # -- plumbing ----------------------------------------------------------------------------
    def attach(self) -> None:
        """Give the session this service as its AssistHooks (attendant cards, audit lines)."""
        if self._session is not None:
            self._session.attach_attendant(self)

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` with every new view, from whichever thread made the change."""
        self._core.subscribe(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling `listener`."""
        self._core.unsubscribe(listener)

    def view(self) -> AttendantView:
        """The current view (session-dependent fields are read fresh)."""
        return self._core.view()

    def close(self) -> None:
        """Lock and stop the worker; tell nobody of later views."""
        self.lock("kiosk stopping")
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._core.clear_listeners()

    def in_background(self, method: str, *args: Any) -> None:
        """Run a blocking action (PIN check, device check, reprint) on the worker thread."""
        if method not in BACKGROUND:
            raise ValueError(f"{method} is not an attendant action")
        self._core.update(busy=True, message=None)
        self._worker.submit(self._run, getattr(self, method), args)

    def _run(self, action: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            action(*args)
        except Exception:  # the attendant's worker must survive any bug
            log.exception("attendant action %s failed", getattr(action, "__name__", action))
            self._core.update(message=T.ACTION_FAILED)
        finally:
            self._core.update(busy=False)

    # -- unlocking ---------------------------------------------------------------------------
    def unlock_with_pin(self, pin: str) -> bool:
        """Check a PIN (blocking: scrypt); unlock on a match, say why not otherwise."""
        result = self._core.checker.check_pin(pin)
        if result.attendant is not None:
            self._unlock(result.attendant, "pin")
            return True
        if result.outcome == "locked":
            audit_log.warning(
                "AUDIT kiosk=%s attendant=- action=pin_locked seconds=%.0f",
                self.kiosk_id,
                result.locked_for_s,
            )
            message = T.PIN_LOCKED.format(seconds=int(result.locked_for_s + 0.999))
        elif result.outcome == "no_staff":
            log.warning("attendant PIN entered but no attendant is configured on %s", self.kiosk_id)
            message = T.NO_STAFF
        else:
            log.info("attendant PIN wrong on %s (%d tries left)", self.kiosk_id, result.tries_left)
            message = T.WRONG_PIN.format(tries=result.tries_left)
        self._core.update(message=message, message_ok=False)
        return False

    def card_presented(self, uid: str) -> bool:
        """Card thread: an attendant's card unlocks (True); any other card is a citizen's."""
        attendant = self._core.checker.check_card(uid)
        if attendant is None:
            return False
        self._unlock(attendant, "card")
        return True

    def _unlock(self, attendant: Attendant, how: str) -> None:
        self._core.sign_in(attendant)
        self._core.audit("unlock", detail=f"by={how}")
        self._core.update(
            unlocked=True,
            attendant_id=attendant.id,
            unlocked_by=how,
            message=T.WELCOME.format(attendant=attendant.id),
            message_ok=True,
            devices=(),
            reprints=self._reprinter.items(),
            held=self._held.items(),
        )

    def lock(self, reason: str = "left") -> None:
        """Leave attendant mode (the attendant's button, or idle too long)."""
        attendant = self._core.sign_out()
        if attendant is None:
            return
        self._core.audit("lock", attendant=attendant.id, detail=f"reason={reason}")
        self._core.publish()

    def activity(self) -> None:
        """A touch anywhere: attendant mode stays open."""
        self._core.activity()

    def tick(self) -> None:
        """Lock after `idle_lock_s` without a touch; refresh a PIN lockout countdown; now and
        then wipe kept receipts past their window (on the worker)."""
        idle, counting = self._core.idle_and_counting()
        with self._core.lock:
            expire = self._clock() >= self._next_expiry
            if expire:
                self._next_expiry = self._clock() + EXPIRE_EVERY_S
        if expire:
            try:
                self._worker.submit(self._run_quietly, self._reprinter.expire)
            except RuntimeError:  # closed: the kiosk is stopping
                pass
        if idle:
            self.lock("idle")
        elif counting:
            self._core.publish()

    @property
    def attendant_id(self) -> str:
        """The attendant now signed in, or ""."""
        return self._core.attendant_id

    @property
    def counts(self) -> dict[str, int]:
        """How often each audited action happened (for the health report and tests)."""
        return self._core.counts

    # -- assisting a citizen -----------------------------------------------------------------
    def assist(self) -> bool:
        """Mark the running citizen session as assisted by this attendant."""
        attendant = self._core.require()
        if attendant is None:
            return False
        masked = self._session.assist(attendant) if self._session is not None else None
        if masked is None:
            self._core.update(message=T.NO_CITIZEN, message_ok=False)
            return False
        self._core.audit("assist_form", nik=masked)
        self._core.update(message=T.ASSISTING, message_ok=True)
        return True

    def continue_uid_card(self, nik: str, name: str) -> dict[str, Text]:
        """Continue a UID-only card with the NIK and name typed from it; {} or field errors."""
        attendant = self._core.require()
        if attendant is None:
            return {"nik": T.LOCKED}
        if self._session is None or not self._session.uid_card_waiting():
            self._core.update(message=T.NO_UID_CARD, message_ok=False)
            return {"nik": T.NO_UID_CARD}
        nik, name = "".join(nik.split()), " ".join(name.upper().split())
        errors: dict[str, Text] = {}
        problems = validate_nik(nik)
        if problems:
            errors["nik"] = problems[0]
        if not name or len(name) > MAX_NAME or not any(c.isalpha() for c in name):
            errors["name"] = T.NAME_NEEDED
        parts = parse_nik(nik) if not errors else None
        if parts is None:
            errors.setdefault("nik", problems[0] if problems else T.NIK_UNREADABLE)
        if errors:
            self._core.update(message=next(iter(errors.values())), message_ok=False)
            return errors
        assert parts is not None
        identity = _typed_identity(nik, name, parts.birth_date, parts.sex)
        if not self._session.continue_uid_card(identity, attendant):
            self._core.update(message=T.SESSION_BUSY, message_ok=False)
            return {"nik": T.SESSION_BUSY}
        self._core.audit("continue_uid_card", nik=mask_nik(nik))
        self._core.update(message=T.UID_CONTINUED, message_ok=True)
        return {}

    # -- the verification day's priority lane ------------------------------------------------
    def grant_priority(self, reason: str) -> bool:
        """Lansia, disabilitas or ibu hamil: the calling number on screen goes to the priority
        lane (blocking: run it in the background); audited."""
        attendant = self._core.require()
        if attendant is None or self._session is None:
            return False
        refused = self._session.grant_priority(reason, attendant)
        if refused is not None:
            self._core.update(message=refused, message_ok=False)
            return False
        self._core.audit("queue_priority", detail=reason)
        self._core.update(message=T.PRIORITY_GIVEN, message_ok=True)
        return True

    # -- devices and reprints ----------------------------------------------------------------
    def check_devices(self) -> tuple[DeviceLine, ...]:
        """Ask every device again (DLE EOT, CUPS, ...) and show what is still wrong (blocking)."""
        if self._core.require() is None:
            return ()
        lines = device_lines(self._devices)
        bad = [line.name for line in lines if not line.ok]
        self._core.audit("check_devices", detail="problems=" + (",".join(bad) or "none"))
        message = T.DEVICES_OK if not bad else T.DEVICES_NOT_OK.format(count=len(bad))
        self._core.update(
            devices=lines, reprints=self._reprinter.items(), message=message, message_ok=not bad
        )
        return lines

    def reprint(self, job_id: int) -> bool:
        """Reprint a failed, interrupted or the last ticket (blocking; journalled)."""
        attendant = self._core.require()
        if attendant is None:
            return False
        kind = self._reprinter.kind_of(job_id)
        ok, message, reference = self._reprinter.reprint(job_id, f"attendant:{attendant}")
        self._core.audit(
            f"reprint_{kind}", detail=f"job={job_id} ref={reference or '-'} ok={str(ok).lower()}"
        )
        self._core.update(message=message, message_ok=ok, reprints=self._reprinter.items())
        return ok

    def dismiss(self, job_id: int) -> None:
        """Give up on a failed or interrupted ticket (the citizen has gone)."""
        attendant = self._core.require()
        if attendant is None:
            return
        reference = self._reprinter.dismiss(job_id, f"attendant:{attendant}")
        self._core.audit("dismiss_print", detail=f"job={job_id} ref={reference or '-'}")
        self._core.update(message=T.DISMISSED, message_ok=True, reprints=self._reprinter.items())

    def resume_a4(self) -> bool:
        """Restart the A4 printer's stopped queue (blocking: IPP); True when it prints again."""
        attendant = self._core.require()
        if attendant is None:
            return False
        printer = self._devices.get("document_printer")
        if printer is None or not hasattr(printer, "resume"):
            self._core.update(message=T.NO_A4_PRINTER, message_ok=False)
            return False
        outcome = "error"
        try:
            status = {str(k): str(v) for k, v in printer.resume().items()}
        except ResumeRefused as exc:
            log.error("attendant could not resume the A4 printer: %s", exc)
            outcome, message = "refused", T.A4_RESUME_REFUSED
        except DeviceError as exc:
            log.warning("attendant could not resume the A4 printer: %s", exc)
            outcome, message = "unreachable", T.A4_UNREACHABLE
        else:
            state = status.get("state", "unknown")
            if queue_stopped(status):
                outcome, message = "still_stopped", T.A4_STILL_STOPPED
            elif state not in OK_STATES:
                outcome = state
                advice = T.ADVICE.get(state, T.ADVICE_UNKNOWN.format(state=state))
                message = T.A4_RESUMED_BUT.then(advice)
            else:
                outcome, message = "ok", T.A4_RESUMED
        ok = outcome == "ok"
        self._core.audit("resume_a4", detail=f"outcome={outcome}")
        self._core.update(message=message, message_ok=ok, devices=device_lines(self._devices))
        return ok

    def retry_held(self, entry_id: int) -> bool:
        """Send a held row that found no place again now (blocking: HTTP); True when it was
        sent or is queued for the background sender (server unreachable)."""
        if self._core.require() is None:
            return False
        ok, message, reference, outcome = self._held.retry(entry_id)
        self._core.audit(
            "retry_held", detail=f"row={entry_id} ref={reference or '-'} outcome={outcome}"
        )
        self._core.update(message=message, message_ok=ok, held=self._held.items())
        return ok

    def mark_handled(self, entry_id: int) -> bool:
        """The attendant dealt with a held row (e.g. called the citizen): kept, out of the list."""
        attendant = self._core.require()
        if attendant is None:
            return False
        ok, message, reference = self._held.handled(entry_id, attendant)
        self._core.audit(
            "handled_held", detail=f"row={entry_id} ref={reference or '-'} ok={str(ok).lower()}"
        )
        self._core.update(message=message, message_ok=ok, held=self._held.items())
        return ok

    def refresh(self) -> None:
        """Reload the reprint and held lists (blocking: print journal and outbox reads)."""
        if self._core.require() is not None:
            self._core.update(reprints=self._reprinter.items(), held=self._held.items())

    def refresh_later(self) -> None:
        """Reload the lists on the worker thread (the panel opening, on the UI thread);
        the view follows through the subscribers like every other change."""
        self._worker.submit(self._run_quietly, self.refresh)

    @staticmethod
    def _run_quietly(action: Callable[[], Any]) -> None:
        try:
            action()
        except StorageError as exc:  # already in the health report, naming the file
            log.warning("attendant %s: %s", getattr(action, "__name__", action), exc)
        except Exception:  # the attendant's worker must survive any bug
            log.exception("attendant %s failed", getattr(action, "__name__", action))

    def _on_reprinted(self, reference: str) -> None:
        """A ticket the citizen's result screen still offers was reprinted by the attendant."""
        if self._session is not None:
            self._session.attendant_reprinted(reference)

    # -- health and audit --------------------------------------------------------------------
    def status(self) -> dict[str, str]:
        """For the health report: locked or not, and counts of attendant actions."""
        return self._core.status()

    def call_attendant(self, reason: str) -> None:
        """AssistHooks: the kiosk needs an attendant (shown, audited, in the health report)."""
        self._core.call_attendant(reason)

    def audit(
        self, action: str, *, attendant: str | None = None, nik: str = "-", detail: str = ""
    ) -> None:
        """AssistHooks: an audit line on the session's behalf (an assisted submission)."""
        self._core.audit(action, attendant=attendant, nik=nik, detail=detail)


def _typed_identity(nik: str, name: str, birth_date: date, sex: str) -> Identity:
    """An identity from what the attendant typed; the rest is filled in on the form."""
    return Identity(
        nik=nik,
        name=name,
        birth_date=birth_date,
        sex=sex,
        birth_place="",
        blood_type="",
        address="",
        rt_rw="",
        kelurahan_desa="",
        kecamatan="",
        kabupaten_kota="",
        province="",
        religion="",
        marital_status="",
        occupation="",
        citizenship="",
        valid_until="",
    )
