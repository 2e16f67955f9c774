"""HTTP client of the central server; maps every failure to a precise CentralError."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from kiosk_app.central_documents import CardHolderApi
from kiosk_app.domain.identity import mask_nik
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

# The largest answer read (an issued document's PDF in JSON is a few hundred KiB; the region
# list has its own download and cap): anything larger is a hostile or broken server.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MSG_UNAVAILABLE = Text(
    "Server pusat sedang tidak dapat dihubungi. Silakan coba beberapa saat lagi.",
    "The central server cannot be reached right now. Please try again shortly.",
)
MSG_SLOT_FULL = Text(
    "Jadwal yang dipilih sudah penuh atau tidak tersedia. Silakan pilih jadwal lain.",
    "The chosen appointment is full or no longer available. Please choose another one.",
)
MSG_REJECTED = Text(
    "Permohonan tidak dapat diproses. Silakan hubungi petugas.",
    "The application could not be processed. Please ask an officer for help.",
)
MSG_NOT_FOUND = Text(
    "Nomor registrasi tidak ditemukan. Periksa kembali nomor Anda.",
    "Registration number not found. Please check the number.",
)


class CentralError(Exception):
    """A failed call to the central server, with a message ready for the citizen."""

    retriable = False
    default_message = MSG_REJECTED

    def __init__(
        self,
        message: str,
        citizen_message: Text | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.citizen_message = citizen_message or self.default_message
        self.status = status
        self.code = code
        self.extra = extra or {}  # the error body's other fields (e.g. when it was printed)


class CentralUnavailable(CentralError):
    """Connection refused, timeout, 5xx or 429: try again later (the outbox does)."""

    retriable = True
    default_message = MSG_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class SlotFull(CentralError):
    """The chosen slot is full or no longer bookable: pick another slot."""

    default_message = MSG_SLOT_FULL


class CentralRejected(CentralError):
    """The server refused the request (4xx): retrying the same request will not help."""


class NotFound(CentralError):
    """No such registration number."""

    default_message = MSG_NOT_FOUND


@dataclass(frozen=True)
class SlotAvailability:
    """A bookable slot and the places left in it."""

    slot: Slot
    remaining: int


@dataclass(frozen=True)
class SubmissionReceipt:
    """The central server's answer to a submission."""

    registration_number: str
    queue_number: str
    status: str
    service: str
    office_code: str
    office_name: str
    slot: Slot
    created_at: str


@dataclass(frozen=True)
class ApplicationStatus:
    """Public status of an application (no NIK, masked name only)."""

    registration_number: str
    service: str
    status: str
    status_text: Text
    masked_name: str
    slot: Slot
    office_name: str
    created_at: str


@dataclass(frozen=True)
class Lease:
    """Places of one office's service, day and window the server set aside for this kiosk: it
    books them itself while the server cannot be reached (issue 16)."""

    lease_id: str
    service: str
    slot: Slot
    places: int  # granted in all, used ones included
    used: int  # bookings from it the server has already admitted
    book_until: datetime  # UTC: no offline booking from it after this
    expires_at: datetime  # UTC: the server reclaims the unused places then


def _utc(text: str) -> datetime:
    when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _leases(answer: dict[str, Any]) -> list[Lease]:
    return [
        Lease(
            lease_id=str(item["lease_id"]),
            service=str(item["service"]),
            slot=_slot(item),
            places=int(item["places"]),
            used=int(item["used"]),
            book_until=_utc(item["book_until"]),
            expires_at=_utc(item["expires_at"]),
        )
        for item in answer["leases"]
    ]


@dataclass(frozen=True)
class CheckinAnswer:
    """The server's answer to a check-in: the calling number and where the citizen waits."""

    calling_number: str
    registration_number: str
    service: str
    service_name: str
    counter_group: str
    people_ahead: int
    estimated_wait_minutes: int
    window: str
    repeat: bool  # checked in before: the same number again
    priority: str = ""  # "", "lansia", "disabilitas" or "ibu_hamil" (the priority lane)


def _checkin_answer(answer: dict[str, Any]) -> CheckinAnswer:
    return CheckinAnswer(
        calling_number=str(answer["calling_number"]),
        registration_number=str(answer["registration_number"]),
        service=str(answer["service"]),
        service_name=str(answer.get("service_name") or answer["service"]),
        counter_group=str(answer.get("counter_group") or ""),
        people_ahead=int(answer.get("people_ahead") or 0),
        estimated_wait_minutes=int(answer.get("estimated_wait_minutes") or 0),
        window=str(answer.get("window") or ""),
        repeat=bool(answer.get("repeat")),
        priority=str(answer.get("priority") or ""),
    )


def _slot(raw: dict[str, Any]) -> Slot:
    return Slot(date=date.fromisoformat(raw["date"]), window=str(raw["window"]))


def _application_body(
    *,
    service: str,
    applicant_nik: str,
    applicant_name: str,
    data: dict[str, str],
    slot: Slot,
    local_reference: str | None = None,
    submitted_at: str | None = None,
    if_slot_full: str = "refuse",
    lease: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON of one pre-application, for the single and the batch endpoint alike; `lease`:
    {"lease_id", "seal"} of a place the kiosk booked from its lease."""
    body: dict[str, Any] = {
        "service": service,
        "applicant_nik": applicant_nik,
        "applicant_name": applicant_name,
        "data": data,
        "slot": {"date": slot.date.isoformat(), "window": slot.window},
        "local_reference": local_reference,
        "submitted_at": submitted_at,
    }
    if if_slot_full != "refuse":  # the server's default: old servers never see the field
        body["if_slot_full"] = if_slot_full
    if lease:
        body["lease"] = {"lease_id": lease["lease_id"], "seal": lease["seal"]}
    return body


def _receipt(answer: dict[str, Any]) -> SubmissionReceipt:
    return SubmissionReceipt(
        registration_number=answer["registration_number"],
        queue_number=answer["queue_number"],
        status=answer["status"],
        service=answer["service"],
        office_code=answer["office_code"],
        office_name=answer["office_name"],
        slot=_slot(answer["slot"]),
        created_at=answer["created_at"],
    )


def _retry_after(value: str | None) -> float | None:
    """Parse Retry-After: delay seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _read_capped(response: requests.Response, what: str) -> None:
    """Read a streamed answer into `response.content`, refusing one over MAX_ANSWER_BYTES (a
    hostile or broken server, or a portal page in between, must not fill the kiosk's memory)."""
    import requests

    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
        response.close()
        raise requests.RequestException(f"{what}: answer of {declared} bytes refused (too large)")
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            response.close()
            raise requests.RequestException(
                f"{what}: answer over {MAX_ANSWER_BYTES} bytes refused (too large)"
            )
    response._content = bytes(body)  # what .content, .json() and .text read from now on


class CentralClient(CardHolderApi):
    """Talks to one central server as one kiosk; no retries here (the outbox retries later)."""

    def __init__(
        self,
        base_url: str,
        kiosk_id: str,
        office_code: str,
        token: str | None = None,
        timeout: float = 5.0,
        session: requests.Session | None = None,
        enrol_as: str | None = None,
        ca_file: Path | None = None,
        signing_key: str | None = None,
    ) -> None:
        """`signing_key`: the kiosk's public seal key (public_key_text), sent at enrolment."""
        self.base_url = base_url.rstrip("/")
        self.ca_file = ca_file  # trust only this CA for the server's certificate (self-signed)
        self.signing_key = signing_key
        self.enrol_as = enrol_as  # with no token, enrol under this name on the first call
        self._enrol_lock = threading.Lock()
        self.kiosk_id = kiosk_id
        self.office_code = office_code
        self.token = token
        self.timeout = timeout
        self._session = session  # made on first use: importing requests costs ~0.1 s at start
        self._answer_listeners: list[Callable[[], None]] = []
        self._silence_listeners: list[Callable[[], None]] = []

    def on_answer(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every answer the server gives (any status below 500): the
        senders use it to end their backoff as soon as anything reaches the server again."""
        self._answer_listeners.append(listener)

    def on_no_answer(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every request the server gave no answer to (refused, reset,
        timed out): the lease keeper then looks again every few seconds until it answers."""
        self._silence_listeners.append(listener)

    def _answered(self) -> None:
        self._notify(self._answer_listeners)

    @staticmethod
    def _notify(listeners: list[Callable[[], None]]) -> None:
        for listener in listeners:
            try:
                listener()
            except Exception:  # a listener's fault must not fail this request
                log.exception("answer listener %r failed", listener)

    @property
    def session(self) -> requests.Session:
        """The pooled HTTP session (created on first use)."""
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    @property
    def verify(self) -> str | None:
        """requests' `verify` for every call: the configured CA file, given per request because
        an environment's REQUESTS_CA_BUNDLE beats Session.verify (requests #3829); None leaves
        it to the session (a session given by the caller keeps its own)."""
        return str(self.ca_file) if self.ca_file is not None else None

    def close(self) -> None:
        """Close pooled connections."""
        if self._session is not None:
            self._session.close()

    def health(self) -> None:
        """Return if the server answers /health, else raise CentralError."""
        self._call("GET", "/health", auth=False)

    def register(self, name: str) -> str:
        """Enrol this kiosk (rotating any previous token); store and return the token."""
        body = {"kiosk_id": self.kiosk_id, "office_code": self.office_code, "name": name}
        if self.signing_key:
            body["signing_key"] = self.signing_key
        answer = self._call("POST", "/api/v1/kiosks", json=body, auth=False)
        self.token = str(answer["token"])
        return self.token

    def put_signing_key(self, public_key: str) -> None:
        """(Re)register this kiosk's public seal key with the server (kiosk token auth)."""
        self._call(
            "PUT",
            "/api/v1/kiosk/signing-key",
            json={"signing_key": public_key},
            what="register signing key",
        )

    def leases(self, days: int | None = None) -> list[Lease]:
        """Grant or renew this kiosk's slot leases (idempotent): every lease it holds now."""
        body = {} if days is None else {"days": days}
        answer = self._call("POST", "/api/v1/leases", json=body, what="leases")
        return _leases(answer)

    def return_leases(self, returns: dict[str, int]) -> list[Lease]:
        """Give unused places back (lease id -> places): the leases the kiosk still holds."""
        body = {"returns": [{"lease_id": k, "places": n} for k, n in returns.items()]}
        answer = self._call("POST", "/api/v1/leases/return", json=body, what="return leases")
        return _leases(answer)

    def slots(self, service: str, days: int = 10) -> list[SlotAvailability]:
        """Bookable verification slots of this kiosk's office for `service`."""
        answer = self._call("GET", "/api/v1/slots", params={"service": service, "days": days})
        return [SlotAvailability(_slot(item), int(item["remaining"])) for item in answer]

    def submit(
        self,
        *,
        service: str,
        applicant_nik: str,
        applicant_name: str,
        data: dict[str, str],
        slot: Slot,
        idempotency_key: str,
        local_reference: str | None = None,
        submitted_at: str | None = None,
        timeout: float | None = None,
        if_slot_full: str = "refuse",
        lease: dict[str, str] | None = None,
    ) -> SubmissionReceipt:
        """Submit a pre-application; resending with the same key returns the first receipt.

        `if_slot_full="next_free"`: a full slot books the nearest free one after it (the
        receipt's slot) instead of refusing; for queued rows whose citizen has left."""
        body = _application_body(
            service=service,
            applicant_nik=applicant_nik,
            applicant_name=applicant_name,
            data=data,
            slot=slot,
            local_reference=local_reference,
            submitted_at=submitted_at,
            if_slot_full=if_slot_full,
            lease=lease,
        )
        what = f"submit {service} nik={mask_nik(applicant_nik)} key={idempotency_key}"
        answer = self._call(
            "POST",
            "/api/v1/applications",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            what=what,
            timeout=timeout,
        )
        log.info("%s -> %s", what, answer.get("registration_number"))
        return _receipt(answer)

    def submit_batch(
        self, items: list[tuple[str, dict[str, Any]]], timeout: float | None = None
    ) -> list[SubmissionReceipt | CentralError]:
        """Submit queued pre-applications at once: (idempotency key, submit() keywords) each.

        One answer per item, in order: its receipt (created or replayed) or its refusal."""
        body = {
            "items": [
                {"idempotency_key": key, "application": _application_body(**kw)}
                for key, kw in items
            ]
        }
        what = f"submit batch of {len(items)}"
        answer = self._call(
            "POST", "/api/v1/applications/batch", json=body, what=what, timeout=timeout
        )
        results: list[SubmissionReceipt | CentralError] = []
        for (key, kw), item in zip(items, answer["results"], strict=True):
            if item.get("application") is not None:
                results.append(_receipt(item["application"]))
                continue
            error, status = item.get("error") or {}, int(item["status"])
            message = (
                f"submit {kw['service']} nik={mask_nik(kw['applicant_nik'])} key={key}: "
                f"HTTP {status} {error.get('code', '-')}: {error.get('message', '')!s:.300}"
            )
            kind = (
                SlotFull
                if error.get("code") in ("slot_full", "slot_unavailable")
                else (CentralUnavailable if status == 429 or status >= 500 else CentralRejected)
            )
            results.append(self._log(kind(message, status=status, code=error.get("code"))))
        log.info("%s -> %d stored", what, sum(isinstance(r, SubmissionReceipt) for r in results))
        return results

    def status(self, registration_number: str) -> ApplicationStatus:
        """Look up the public status of an application."""
        answer = self._call("GET", f"/api/v1/applications/{quote(registration_number, safe='')}")
        return ApplicationStatus(
            registration_number=answer["registration_number"],
            service=answer["service"],
            status=answer["status"],
            status_text=Text(answer["status_text"]["id"], answer["status_text"]["en"]),
            masked_name=answer.get("masked_name", ""),
            slot=_slot(answer["slot"]),
            office_name=answer["office_name"],
            created_at=answer["created_at"],
        )

    def checkin(self, *, field: str, value: str) -> CheckinAnswer:
        """Check a citizen in for today's verification by one of "seal" (a QR's text),
        "registration_number" or "nik" (the card holder's booking today).

        Refusals raise CentralRejected with the server's code ("too_early", "other_day", ...)
        and its details (date, window, come_back_at) in `extra`; an unknown one NotFound."""
        if field not in ("seal", "registration_number", "nik"):
            raise ValueError(f"no check-in by {field!r}")
        shown = mask_nik(value) if field == "nik" else value[:40]
        answer = self._call(
            "POST", "/api/v1/checkin", json={field: value}, what=f"check-in {field}={shown}"
        )
        log.info("check-in %s=%s -> %s", field, shown, answer.get("calling_number"))
        return _checkin_answer(answer)

    def queue_priority(
        self, registration_number: str, reason: str, attendant: str
    ) -> CheckinAnswer:
        """An attendant puts a checked-in citizen in the priority lane ("lansia", "disabilitas",
        "ibu_hamil"); the calling ticket recomputed. Refusals as for checkin()."""
        body = {
            "registration_number": registration_number,
            "reason": reason,
            "attendant": attendant,
        }
        what = f"priority {reason} for {registration_number} by {attendant}"
        answer = self._call("POST", "/api/v1/queue/priority", json=body, what=what)
        log.info("%s -> %s", what, answer.get("calling_number"))
        return _checkin_answer(answer)

    def upload_scan(self, registration_number: str, name: str, pdf: bytes) -> None:
        """Attach one scanned document (a PDF) to an application; re-sending replaces it."""
        number = quote(registration_number, safe="")
        self._call(
            "PUT",
            f"/api/v1/applications/{number}/scans/{quote(name, safe='')}",
            data=pdf,
            headers={"Content-Type": "application/pdf"},
            what=f"upload scan {name} ({len(pdf)} bytes) for {registration_number}",
        )

    def submit_survey(
        self,
        *,
        service: str,
        survey_date: date,
        answers: dict[str, int],
        idempotency_key: str,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one satisfaction survey (no personal data); a resent key is counted once."""
        body = {"service": service, "survey_date": survey_date.isoformat(), "answers": answers}
        answer: dict[str, Any] = self._call(
            "POST",
            "/api/v1/surveys",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            what=f"survey {service} key={idempotency_key[:8]}",
            timeout=timeout,
        )
        return answer

    def heartbeat(self, report: dict[str, Any]) -> dict[str, Any]:
        """Send the kiosk's health report; the answer carries queued remote commands."""
        answer: dict[str, Any] = self._call(
            "POST", "/api/v1/fleet/heartbeat", json=report, what="heartbeat"
        )
        return answer

    def report_command(self, command_id: int, result: dict[str, Any]) -> None:
        """Tell the server how a remote command ended."""
        self._call(
            "POST",
            f"/api/v1/fleet/commands/{command_id}/result",
            json=result,
            what=f"command {command_id} result",
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        what: str | None = None,
        timeout: float | None = None,
        _retried: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Send one request; return the decoded JSON or raise the matching CentralError."""
        what = what or f"{method} {path}"
        headers = dict(headers or {})
        if auth:
            if not self.token and self.enrol_as:
                with self._enrol_lock:
                    if not self.token:
                        self.register(self.enrol_as)
            if not self.token:
                raise CentralRejected(f"{what}: kiosk not registered (no token)", code="no_token")
            headers["Authorization"] = f"Bearer {self.token}"
        import requests

        timeout = self.timeout if timeout is None else timeout
        if self.verify is not None:
            kwargs.setdefault("verify", self.verify)
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                headers=headers,
                timeout=timeout,
                stream=True,
                **kwargs,
            )
            _read_capped(response, what)
        except requests.Timeout as exc:
            self._notify(self._silence_listeners)
            raise self._log(
                CentralUnavailable(f"{what}: timed out after {timeout}s: {exc}")
            ) from exc
        except requests.RequestException as exc:
            self._notify(self._silence_listeners)
            raise self._log(CentralUnavailable(f"{what}: {type(exc).__name__}: {exc}")) from exc
        if response.status_code < 500:
            self._answered()
        if response.status_code == 401 and auth and self.enrol_as and not _retried:
            # Dev kiosk (embedded server): an enrolment that timed out here may have landed on the
            # server after a later one and rotated our token away. Enrol again, once, and retry.
            with self._enrol_lock:
                if self.token == headers["Authorization"].removeprefix("Bearer "):
                    log.warning("%s: token refused (401); enrolling again", what)
                    self.token = None
            return self._call(
                method,
                path,
                auth=auth,
                headers=headers,
                what=what,
                timeout=timeout,
                _retried=True,
                **kwargs,
            )
        if response.ok:
            if response.status_code == 204 or not response.content:
                return None  # e.g. an upload: nothing to decode
            try:
                return response.json()
            except ValueError as exc:
                raise self._log(
                    CentralUnavailable(
                        f"{what}: HTTP {response.status_code} with a body that is not JSON",
                        status=response.status_code,
                    )
                ) from exc
        raise self._log(self._error(response, what))

    @staticmethod
    def _error(response: requests.Response, what: str) -> CentralError:
        """Map an HTTP error answer to the exception the caller acts on."""
        status = response.status_code
        try:
            detail = response.json().get("detail")
        except (ValueError, AttributeError):
            detail = response.text[:200]
        code = detail.get("code") if isinstance(detail, dict) else None
        extra = (
            {k: v for k, v in detail.items() if k not in ("code", "message")}
            if isinstance(detail, dict)
            else {}
        )
        if isinstance(detail, list):  # pydantic errors echo the input (maybe a NIK): drop it
            detail = "; ".join(
                f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}"
                for e in detail
                if isinstance(e, dict)
            )
        elif isinstance(detail, dict):
            detail = detail.get("message", "")
        message = f"{what}: HTTP {status} {code or '-'}: {detail!s:.300}"
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            return CentralUnavailable(message, retry_after=retry_after, status=status, code=code)
        if status == 404 and code == "not_found":
            return NotFound(message, status=status, code=code)
        if status == 409 and code in ("slot_full", "slot_unavailable"):
            return SlotFull(message, status=status, code=code)
        return CentralRejected(message, status=status, code=code, extra=extra)

    @staticmethod
    def _log(error: CentralError) -> CentralError:
        """Log one precise line (callers pass only masked personal data) and return the error."""
        log.warning("central: %s", error)
        return error
