"""How the kiosk talks to the central server over HTTP: one request with the kiosk's token
(enrolling first when it has none), its answer read under a size cap, and every failure mapped
to a precise CentralError carrying the message the citizen sees. The calls themselves, and the
answers they decode, are kiosk_app.central's CentralClient."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk_app.domain.text import Text

if TYPE_CHECKING:
    import requests

log = logging.getLogger("kiosk_app.central")  # one logger for the client, as before the split

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


def closed_before_answer(exc: BaseException) -> bool:
    """Whether `exc` is a connection the server closed or reset before any byte of its answer
    came: what a client sees that sends a request onto a kept-alive connection just as nginx
    ends it (a reload's old workers close their idle connections at once). Not a timeout, a
    refused connection nor a refused certificate: resending would not help those."""
    import ssl
    from http.client import RemoteDisconnected

    from urllib3.exceptions import NewConnectionError

    dropped, seen, pending = False, set(), [exc]
    while pending:
        error = pending.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, NewConnectionError | ssl.SSLCertVerificationError | TimeoutError):
            return False
        dropped |= isinstance(
            error,
            RemoteDisconnected
            | ConnectionResetError
            | ConnectionAbortedError
            | BrokenPipeError
            | ssl.SSLEOFError
            | ssl.SSLZeroReturnError,
        )
        causes = (*error.args, getattr(error, "reason", None), error.__cause__, error.__context__)
        pending += [cause for cause in causes if isinstance(cause, BaseException)]
    return dropped


class CentralTransport:
    """One kiosk's connection to one central server: token, session, listeners and `_call`;
    no retries here (the outbox retries later), but for one: an idempotent request the server
    closed its kept-alive connection on before answering is sent again at once, once."""

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
        """Close pooled connections, now: urllib3's PoolManager.clear (what Session.close
        calls) only forgets its pools since 2.8, their idle connections closing when a pool is
        collected, which a reference cycle (a failed request's traceback holds its pool)
        delays to the next full collection. An app server stopping meanwhile waits for the
        connection (central_server/drain.py)."""
        if self._session is None:
            return
        pools = []
        for adapter in self._session.adapters.values():
            managers = [getattr(adapter, "poolmanager", None)]
            managers += list(getattr(adapter, "proxy_manager", {}).values())
            for manager in filter(None, managers):
                pools += [manager.pools.get(key) for key in manager.pools.keys()]
        self._session.close()
        for pool in filter(None, pools):
            pool.close()

    def register(self, name: str, timeout: float | None = None) -> str:
        """Enrol this kiosk (rotating any previous token); store and return the token."""
        body = {"kiosk_id": self.kiosk_id, "office_code": self.office_code, "name": name}
        if self.signing_key:
            body["signing_key"] = self.signing_key
        answer = self._call("POST", "/api/v1/kiosks", json=body, auth=False, timeout=timeout)
        self.token = str(answer["token"])
        return self.token

    def _call(
        self,
        method: str,
        path: str,
        *,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        what: str | None = None,
        timeout: float | None = None,
        idempotent: bool = False,
        _retried: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Send one request; return the decoded JSON or raise the matching CentralError.

        A request that got no answer because the server closed or reset its connection
        first (nginx reloading ends its kept-alive connections) is sent again, once, on a new
        connection when that is safe: a GET, a request with an Idempotency-Key (the server
        answers a resent key with the first answer), or one the caller declares `idempotent`
        (sent twice, it has the effect of once). Any other POST may have been applied: it is
        not resent, and its error says so (the caller resends it knowingly, or not)."""
        what = what or f"{method} {path}"
        headers = dict(headers or {})
        if auth:
            if not self.token and self.enrol_as:
                with self._enrol_lock:
                    if not self.token:
                        self.register(self.enrol_as, timeout)  # the caller's patience
            if not self.token:
                raise CentralRejected(f"{what}: kiosk not registered (no token)", code="no_token")
            headers["Authorization"] = f"Bearer {self.token}"
        import requests

        timeout = self.timeout if timeout is None else timeout
        if self.verify is not None:
            kwargs.setdefault("verify", self.verify)

        def send() -> requests.Response:
            return self.session.request(
                method, self.base_url + path, headers=headers, timeout=timeout, stream=True,
                **kwargs,
            )  # fmt: skip

        try:
            try:
                response = send()
            except requests.ConnectionError as exc:
                if isinstance(exc, requests.Timeout) or not closed_before_answer(exc):
                    raise
                if not (idempotent or method in ("GET", "HEAD") or "Idempotency-Key" in headers):
                    raise requests.ConnectionError(
                        f"connection closed before any answer; not resent (a {method} without "
                        f"an idempotency key may have been applied): {exc}"
                    ) from exc
                log.info("%s: connection closed before any answer (%s); sent again", what, exc)
                response = send()
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
                idempotent=idempotent,
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
