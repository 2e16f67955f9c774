"""One-time print codes of issued documents: created at issue, reserved, printed once, logged."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, ForeignKey, String, or_, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column

from central_server import keys, lifecycle
from central_server.kiosk_auth import hash_secret
from central_server.models import Application, Base
from central_server.notify.outbox import conceal, enqueue, recipients, utcnow
from central_server.review_models import IssuedDocument
from central_server.settings import now_wib
from kiosk_app.domain.identity import mask_nik

log = logging.getLogger("central_server.print_codes")

# No look-alikes: no 0/O/D/Q, 1/I/L, 2/Z, 5/S, 8/B, U/V, G/6.
ALPHABET = "ACEFHJKMNPRTWXY34679"
CODE_LENGTH = 8
RESERVATION_TTL = timedelta(minutes=10)  # a kiosk that died mid-print frees the code after this
READY, RESERVED, PRINTED, REVOKED = "ready", "reserved", "printed", "revoked"
# Paper documents a kiosk can print on A4; e-KTP and KIA are cards, made at the office.
PRINTABLE = frozenset({"akta_kelahiran", "akta_kematian", "perubahan_kk", "pindah"})


class PrintCode(Base):
    """The one-time print code of an issued document; only its keyed hash is stored."""

    __tablename__ = "print_codes"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    document_code: Mapped[str] = mapped_column(ForeignKey("issued_documents.code"), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    generation: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(12), default=READY)
    reservation_hash: Mapped[str | None] = mapped_column(String(64))
    reserved_by: Mapped[str | None] = mapped_column(String(64))
    reserved_until: Mapped[datetime | None] = mapped_column(DateTime)  # naive UTC
    printed_at: Mapped[str | None] = mapped_column(String(40))
    printed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))


class PrintLogEntry(Base):
    """Every print event: who (masked NIK), what (document number), when, which kiosk."""

    __tablename__ = "print_log"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    document_number: Mapped[str] = mapped_column(String(40), index=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    masked_nik: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(12))  # reserved|printed|released|refused
    reason: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[str] = mapped_column(String(40))


class PrintRefused(lifecycle.TransitionRefused):
    """A reservation the rules refuse; `extra` goes into the error body."""

    def __init__(self, code: str, message: str, status: int = 409, **extra: str) -> None:
        super().__init__(code, message, status)
        self.extra = extra


def normalize(typed: str) -> str | None:
    """A typed code without spaces or dashes, upper case; None when it cannot be one of ours."""
    code = "".join(c for c in typed.upper() if c not in " -")
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def display(code: str) -> str:
    """ABCD-EFGH: easier to read aloud and to type."""
    return f"{code[:4]}-{code[4:]}"


def _key(session: Session) -> bytes:
    """The print-code pepper: a systemd credential, the environment or a development file."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    url = engine.url.render_as_string(hide_password=False)
    return keys.load_secret(keys.PRINT_CODE_PEPPER, url).encode()


def derive(session: Session, document_code: str, generation: int) -> str:
    """The code of a document: keyed, so the database alone never reveals it."""
    digest = hmac.new(_key(session), f"{document_code}:{generation}".encode(), "sha256").digest()
    value, chars = int.from_bytes(digest, "big"), []
    for _ in range(CODE_LENGTH):
        value, index = divmod(value, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


def code_hash(session: Session, code: str) -> str:
    """HMAC-SHA256 of a code under the pepper: 20^8 codes are too few for a bare hash (a
    database dump alone would give every code back in minutes)."""
    return hmac.new(_key(session), f"code:{code}".encode(), "sha256").hexdigest()


def create_for(session: Session, app: Application, document: IssuedDocument) -> str:
    """Give a newly issued paper document its print code and tell the citizen (outbox)."""
    if app.service not in PRINTABLE:
        return ""
    session.flush()  # the document row must exist for the foreign key
    code = derive(session, document.code, 1)
    session.add(
        PrintCode(
            document_code=document.code,
            code_hash=code_hash(session, code),
            generation=1,
            state=READY,
            created_at=now_wib(),
        )
    )
    body = (
        f"Dokumen {document.document_number} untuk permohonan {app.registration_number} "
        f"sudah terbit. Kode cetak: {conceal(display(code))}. Cetak satu kali di anjungan "
        "Dukcapil, menu Cetak Dokumen. Jangan berikan kode ini kepada orang lain."
    )
    for channel, address in recipients(app):
        enqueue(
            session,
            channel,
            address,
            f"Disdukcapil: kode cetak {app.registration_number}",
            body,
            app.id,
        )
    log.info("print code created for document %s", document.document_number)
    return code


def record(
    session: Session, number: str, kiosk_id: str, nik: str, event: str, reason: str = ""
) -> None:
    """One print-log row and one log line (masked NIK, no names)."""
    masked = mask_nik(nik)
    session.add(
        PrintLogEntry(
            document_number=number,
            kiosk_id=kiosk_id,
            masked_nik=masked,
            event=event,
            reason=reason[:200],
            at=now_wib(),
        )
    )
    log.info("print %s: document %s kiosk %s nik=%s %s", event, number, kiosk_id, masked, reason)


def find_by_code(session: Session, typed: str) -> tuple[PrintCode, IssuedDocument] | None:
    """The code row and its document for a typed code, or None."""
    code = normalize(typed)
    if code is None:
        return None
    # keyed hash; plain SHA-256 for codes made before issue 14 (until they are printed)
    hashes = {code_hash(session, code), hash_secret(code)}
    row = session.scalar(select(PrintCode).where(PrintCode.code_hash.in_(hashes)))
    return None if row is None else (row, session.get_one(IssuedDocument, row.document_code))


def find_by_application(
    session: Session, app: Application
) -> tuple[PrintCode | None, IssuedDocument] | None:
    """The code row (None: not printable at a kiosk) and document of an application."""
    document = session.scalar(select(IssuedDocument).where(IssuedDocument.application_id == app.id))
    if document is None:
        return None
    row = session.scalar(select(PrintCode).where(PrintCode.document_code == document.code))
    return row, document


def reserve(
    session: Session, row: PrintCode, document: IssuedDocument, kiosk_id: str, nik: str
) -> str:
    """Hold the code for one kiosk while it prints; returns the reservation token."""
    if not document.active or row.state == REVOKED:
        record(session, document.document_number, kiosk_id, nik, "refused", "revoked")
        raise PrintRefused("revoked", "the document was revoked", 410)
    if row.state == PRINTED:
        record(session, document.document_number, kiosk_id, nik, "refused", "already printed")
        raise PrintRefused(
            "already_printed",
            "this document was already printed with its code",
            printed_at=row.printed_at or "",
            printed_by=row.printed_by or "",
        )
    token, now = secrets.token_urlsafe(24), utcnow()
    # an UPDATE's result is a CursorResult (Session.execute is annotated for SELECTs)
    claimed = cast(
        CursorResult[Any],
        session.execute(
            update(PrintCode)
            .where(
                PrintCode.id == row.id,
                or_(
                    PrintCode.state == READY,
                    (PrintCode.state == RESERVED) & (PrintCode.reserved_until < now),
                ),
            )
            .values(
                state=RESERVED,
                reservation_hash=hash_secret(token),
                reserved_by=kiosk_id,
                reserved_until=now + RESERVATION_TTL,
            ),
            execution_options={"synchronize_session": False},
        ),
    ).rowcount
    if claimed != 1:
        record(session, document.document_number, kiosk_id, nik, "refused", "busy elsewhere")
        raise PrintRefused("busy", "the document is being printed at a kiosk right now")
    record(session, document.document_number, kiosk_id, nik, "reserved")
    return token


def held(session: Session, token: str, kiosk_id: str) -> tuple[PrintCode, IssuedDocument]:
    """The reservation `token` of `kiosk_id` (a printed one too: confirming twice is harmless)."""
    row = session.scalar(select(PrintCode).where(PrintCode.reservation_hash == hash_secret(token)))
    if row is None or row.reserved_by != kiosk_id:
        raise PrintRefused("unknown_reservation", "no such reservation for this kiosk", 404)
    return row, session.get_one(IssuedDocument, row.document_code)


def confirm(session: Session, token: str, kiosk_id: str, nik: str) -> PrintCode:
    """The kiosk printed the document: the code is used up."""
    row, document = held(session, token, kiosk_id)
    if row.state == PRINTED:
        return row
    if row.state != RESERVED:
        raise PrintRefused("not_reserved", f"the reservation ended ({row.state})")
    row.state, row.printed_at, row.printed_by = PRINTED, now_wib(), kiosk_id
    row.reserved_until = None
    record(session, document.document_number, kiosk_id, nik, "printed")
    return row


def release(session: Session, token: str, kiosk_id: str, nik: str, reason: str) -> None:
    """Printing failed: the code can be used again."""
    row, document = held(session, token, kiosk_id)
    if row.state != RESERVED:
        raise PrintRefused("not_reserved", f"nothing to release ({row.state})")
    row.state, row.reservation_hash, row.reserved_by, row.reserved_until = READY, None, None, None
    record(session, document.document_number, kiosk_id, nik, "released", reason)
