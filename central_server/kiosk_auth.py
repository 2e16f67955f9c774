"""Per-kiosk credentials: one-time enrolment codes, signed kiosk tokens, the kiosk guard."""

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeSerializer
from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import DateTime, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column
from starlette.concurrency import run_in_threadpool

from central_server import keys, seals
from central_server.config import LimitSettings
from central_server.db import Database
from central_server.errors import fail
from central_server.models import Base, Kiosk, Office
from central_server.ratelimit import check_all, client_ip
from central_server.schemas import PLAIN, Error, KioskIn, KioskOut
from central_server.throttle import DatabaseRateLimiter

log = logging.getLogger(__name__)

TOKEN_SALT = "anjungan.kiosk-token.v1"
LEGACY_KEY_NAME = "kiosk_token_key"  # where versions before issue 14 kept the signing key
CODE_TTL = timedelta(hours=24)
# Tokens whose signature was checked, per process: a kiosk sends the same token with every
# heartbeat, and unsigning it (itsdangerous builds its signers per call) was ~14% of a worker's
# CPU under heartbeat load. Only the signature is remembered: revocation and rotation are still
# decided in the database on every request (the heartbeat batch compares the token's hash).
CLAIMS_CACHE_SIZE = 65536
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "Missing or invalid kiosk token"},
}


class ServerSecret(Base):
    """Secrets older versions kept in the database: read only, to accept their kiosk tokens."""

    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class EnrolmentCode(Base):
    """A one-time code a technician hands to the person installing a kiosk (hash stored)."""

    __tablename__ = "enrolment_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"))
    kiosk_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True)
class KioskRef:
    """The authenticated kiosk and its office."""

    kiosk_id: str
    office_code: str
    office_name: str


# FastAPI dependencies that answer 401 themselves.
KioskGuard = Callable[..., Awaitable[KioskRef]]
ClaimsGuard = Callable[..., Awaitable[tuple[str, str]]]  # (kiosk_id, token hash)


class EnrolIn(KioskIn):
    """Kiosk enrolment request; the code is required unless the server runs open enrolment."""

    enrolment_code: (
        Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=PLAIN)] | None
    ) = None


class EnrolmentCodeIn(BaseModel):
    """A technician's request for a one-time enrolment code."""

    office_code: Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
    kiosk_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    valid_hours: int = Field(default=24, ge=1, le=24 * 14)


class EnrolmentCodeOut(BaseModel):
    """A new enrolment code: shown once."""

    code: str
    office_code: str
    kiosk_id: str
    expires_at: datetime


def hash_secret(value: str) -> str:
    """SHA-256 of a high-entropy secret (tokens, codes): no salt or stretching needed."""
    return hashlib.sha256(value.encode()).hexdigest()


REVOKED = "revoked:"  # a revoked kiosk's token_hash starts so (no SHA-256 hex digest does)


def is_active(kiosk: Kiosk) -> bool:
    """True while the kiosk holds a token a technician has not revoked."""
    return not kiosk.token_hash.startswith(REVOKED)


CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U


def new_enrolment_code() -> str:
    """A one-time code a technician reads out and types: 80 random bits as four groups of four
    from an alphabet without look-alikes (e.g. 7K2M-QX9D-R4TW-H0PA); never starts with "-"."""
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def canonical_code(typed: str) -> str:
    """An enrolment code as issued, from what was typed: case, spaces and look-alikes forgiven."""
    plain = "".join(typed.split()).upper().replace("-", "")
    plain = plain.translate(str.maketrans("OILU", "011V"))
    return "-".join(plain[i : i + 4] for i in range(0, len(plain), 4))


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class KioskAuth:
    """Issues and checks kiosk tokens: HMAC-signed {kiosk, nonce}, whose hash the DB holds."""

    def __init__(
        self,
        db: Database,
        *,
        secret: str | None = None,
        open_enrolment: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`clock`: the server's (injected) clock, for the time an enrolment's seal key takes
        effect: the same clock as its replacements (routers.kiosk) and the seals checked."""
        self.db = db
        self.clock = clock
        self.open_enrolment = open_enrolment
        self._secret = secret
        self._serializer: URLSafeSerializer | None = None
        self._checked: dict[str, tuple[str, str]] = {}  # token -> claims (CLAIMS_CACHE_SIZE)

    def signing_key(self) -> str:
        """The token-signing key: a systemd credential, the environment or a development file."""
        if self._secret is None:
            self._secret = keys.load_secret(keys.TOKEN_SIGNING_KEY, self.db.url)
        return self._secret

    def serializer(self) -> URLSafeSerializer:
        """The kiosk-token signer (tokens signed with a key an older version kept in the
        database are still accepted, so enrolled kiosks keep working after the upgrade)."""
        if self._serializer is None:
            with self.db.transaction() as session:
                legacy = session.get(ServerSecret, LEGACY_KEY_NAME)
            accepted = ([legacy.value] if legacy is not None else []) + [self.signing_key()]
            self._serializer = URLSafeSerializer(accepted, TOKEN_SALT)  # signs with the last
        return self._serializer

    def issue(self, kiosk: Kiosk) -> str:
        """Give `kiosk` a new token (the previous one stops working)."""
        token = self.serializer().dumps({"k": kiosk.kiosk_id, "n": secrets.token_urlsafe(16)})
        kiosk.token_hash = hash_secret(token)
        return token

    def claims(self, token: str) -> tuple[str, str]:
        """(kiosk_id, token hash) of a signed token without touching the database, else 401.

        The caller must still check the hash against the kiosk's row (heartbeats do it for a
        whole batch in one query); tokens from before signing are resolved through the DB.
        """
        signed = self.signed_claims(token)
        if signed is None:
            return self.authenticate(token).kiosk_id, hash_secret(token)
        return signed

    def signed_claims(self, token: str) -> tuple[str, str] | None:
        """Like `claims` for signed tokens (CPU only); None when the database must decide."""
        known = self._checked.get(token)
        if known is not None:
            return known
        try:
            claims = self.serializer().loads(token)
        except BadSignature:
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("k"), str):
            fail(401, "unauthorized", "malformed kiosk token")
        if len(self._checked) >= CLAIMS_CACHE_SIZE:
            self._checked.clear()  # a fleet is far smaller; a flood of valid tokens starts over
        known = self._checked[token] = (claims["k"], hash_secret(token))
        return known

    async def async_claims(self, token: str) -> tuple[str, str]:
        """`claims` for the event loop: signed tokens inline, the database in a thread."""
        signed = self.signed_claims(token)
        if signed is not None:
            return signed
        return await run_in_threadpool(self.claims, token)

    def authenticate(self, token: str) -> KioskRef:
        """The kiosk holding `token`, or HTTP 401.

        Read from the database on every request, never from a per-process cache: a token
        revoked or rotated through one app server is refused by every other one at once.
        """
        digest = hash_secret(token)
        try:
            claims = self.serializer().loads(token)
            kiosk_id = str(claims["k"]) if isinstance(claims, dict) else None
        except BadSignature:
            kiosk_id = None  # tokens issued before signed tokens: found by hash alone
        with self.db.transaction() as session:
            query = select(Kiosk, Office).join(Office, Office.code == Kiosk.office_code)
            row = session.execute(query.where(Kiosk.token_hash == digest)).first()
        if row is None or (kiosk_id is not None and row[0].kiosk_id != kiosk_id):
            fail(401, "unauthorized", "unknown, rotated or revoked kiosk token")
        return KioskRef(row[0].kiosk_id, row[1].code, row[1].name)

    def create_code(self, body: EnrolmentCodeIn) -> EnrolmentCodeOut:
        """Store a one-time enrolment code for one kiosk id at one office."""
        code = new_enrolment_code()
        now = datetime.now(UTC)
        expires = now + timedelta(hours=body.valid_hours)
        with self.db.transaction() as session:
            if session.get(Office, body.office_code) is None:
                fail(404, "unknown_office", f"office {body.office_code} is not configured")
            session.add(
                EnrolmentCode(
                    code_hash=hash_secret(code),
                    office_code=body.office_code,
                    kiosk_id=body.kiosk_id,
                    created_at=now,
                    expires_at=expires,
                )
            )
        log.info("enrolment code created for office %s kiosk %s", body.office_code, body.kiosk_id)
        return EnrolmentCodeOut(
            code=code, office_code=body.office_code, kiosk_id=body.kiosk_id, expires_at=expires
        )

    def enrol(self, body: EnrolIn) -> KioskOut:
        """Enrol a kiosk (or rotate its token): redeem the code, store the new token's hash."""
        now = datetime.now(UTC)
        self.serializer()  # load the key first: SQLite cannot open a second write transaction
        with self.db.transaction() as session:
            if session.get(Office, body.office_code) is None:
                fail(404, "unknown_office", f"office {body.office_code} is not configured")
            kiosk = session.get(Kiosk, body.kiosk_id)
            if body.enrolment_code is not None or not self.open_enrolment:
                if kiosk is not None and is_active(kiosk):
                    log.warning("enrolment refused: kiosk %s is active", body.kiosk_id)
                    fail(
                        409,
                        "kiosk_active",
                        "this kiosk is enrolled; a technician must "
                        "revoke its token before it enrols again",
                    )
                self._redeem(session, body, now)
            if kiosk is None:
                kiosk = Kiosk(kiosk_id=body.kiosk_id, registered_at=now.isoformat())
                session.add(kiosk)
            kiosk.office_code, kiosk.name = body.office_code, body.name
            if body.signing_key is not None:
                seals.register_key(session, kiosk, body.signing_key, self.clock(), "enrolment")
            token = self.issue(kiosk)
        log.info("kiosk %s enrolled at office %s", body.kiosk_id, body.office_code)
        return KioskOut(kiosk_id=body.kiosk_id, token=token)

    def _redeem(self, session: Any, body: EnrolIn, now: datetime) -> None:
        if body.enrolment_code is None:
            fail(401, "enrolment_code_required", "an enrolment code from a technician is required")
        # One UPDATE marks the code used: two kiosks racing with the same code cannot both win.
        used = session.execute(
            update(EnrolmentCode)
            .where(
                EnrolmentCode.code_hash.in_(
                    {
                        hash_secret(body.enrolment_code),
                        hash_secret(canonical_code(body.enrolment_code)),
                    }
                ),
                EnrolmentCode.used_at.is_(None),
                EnrolmentCode.expires_at > now,
                EnrolmentCode.office_code == body.office_code,
                EnrolmentCode.kiosk_id == body.kiosk_id,  # a code made for another kiosk: unknown
            )
            .values(used_at=now, used_by=body.kiosk_id)
            .returning(EnrolmentCode.kiosk_id)
        ).first()
        if used is None:
            log.warning("enrolment refused for kiosk %s: bad, used or expired code", body.kiosk_id)
            fail(401, "bad_enrolment_code", "enrolment code unknown, used, expired or not for this")

    def revoke(self, kiosk_id: str) -> None:
        """Invalidate a kiosk's token (it must enrol again with a new code)."""
        with self.db.transaction() as session:
            kiosk = session.get(Kiosk, kiosk_id)
            if kiosk is None:
                fail(404, "unknown_kiosk", f"kiosk {kiosk_id} is not enrolled")
            kiosk.token_hash = REVOKED + secrets.token_hex(24)  # matches no token, unique
        log.info("kiosk %s token revoked", kiosk_id)


def kiosk_guard(auth: KioskAuth) -> KioskGuard:
    """A FastAPI dependency that admits kiosk tokens only (staff credentials get 401)."""
    bearer = HTTPBearer(auto_error=False)

    async def current_kiosk(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> KioskRef:
        """Resolve the bearer token to a kiosk through the database, or answer 401."""
        if credentials is None:
            fail(401, "unauthorized", "missing bearer token")
        return await run_in_threadpool(auth.authenticate, credentials.credentials)

    return current_kiosk


def kiosk_claims_guard(auth: KioskAuth) -> ClaimsGuard:
    """Like kiosk_guard, but checks only the signature; the caller verifies the hash in bulk."""
    bearer = HTTPBearer(auto_error=False)

    async def kiosk_claims(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> tuple[str, str]:
        """(kiosk_id, token hash) of a signed kiosk token, or 401 (async: no thread hop)."""
        if credentials is None:
            fail(401, "unauthorized", "missing bearer token")
        return await auth.async_claims(credentials.credentials)

    return kiosk_claims


def build_router(
    auth: KioskAuth, require_technician: Callable[..., Any], limits: LimitSettings | None = None
) -> APIRouter:
    """Enrolment endpoints: open to kiosks with a code; codes and revocation for technicians."""
    limits = limits or LimitSettings()
    router = APIRouter(tags=["kiosk enrolment"])

    # Anonymous: limited per client address (resolved through the trusted proxies only), in
    # the database so every app server counts the same guesses.
    per_client = DatabaseRateLimiter(
        auth.db,
        per_minute=limits.enrolments_per_minute_per_ip,
        burst=limits.enrolment_burst_per_ip,
        prefix="enrol:ip:",
    )

    @router.post(
        "/api/v1/kiosks",
        status_code=201,
        response_model=KioskOut,
        responses={
            401: {"model": Error},
            404: {"model": Error},
            409: {"model": Error},
            429: {"model": Error},
        },
    )
    def register_kiosk(body: EnrolIn, request: Request) -> KioskOut:
        """Enrol a kiosk with a one-time code made for it (an active kiosk: revoke first)."""
        if not auth.open_enrolment:  # the limit guards code guessing; a dev server has none
            check_all(per_client, [client_ip(request)], "enrolment attempts")
        return auth.enrol(body)

    staff = [Depends(require_technician)]

    @router.post(
        "/api/v1/enrolment-codes",
        status_code=201,
        response_model=EnrolmentCodeOut,
        responses={401: {"model": Error}, 403: {"model": Error}, 404: {"model": Error}},
        dependencies=staff,
    )
    def create_enrolment_code(body: EnrolmentCodeIn) -> EnrolmentCodeOut:
        """Create a one-time enrolment code (technician or admin)."""
        return auth.create_code(body)

    @router.delete(
        "/api/v1/kiosks/{kiosk_id}/token",
        status_code=204,
        responses={401: {"model": Error}, 403: {"model": Error}, 404: {"model": Error}},
        dependencies=staff,
    )
    def revoke_kiosk_token(kiosk_id: str) -> None:
        """Revoke a kiosk's token (technician or admin)."""
        auth.revoke(kiosk_id)

    return router
