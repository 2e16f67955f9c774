"""Issued documents: numbering, the PDF with a verification QR, and the public /verify page."""

from __future__ import annotations

import io
import logging
import secrets
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from central_server import lifecycle, numbering, print_codes
from central_server.db import Database
from central_server.models import Application, Office
from central_server.review_models import IssuedDocument
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import mask_nik

log = logging.getLogger("central_server.issued")
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "officer" / "templates"))
# Document number prefixes: LU and KM as on Dukcapil's deeds, then one per other document type.
DOCUMENT_PREFIXES = {
    "akta_kelahiran": "LU",
    "akta_kematian": "KM",
    "perubahan_kk": "KK",
    "cetak_ulang_ktp": "KTP",
    "kia": "KIA",
    "pindah": "SKPWNI",
}


def document_title(service: str) -> str:
    """The document's name in Bahasa Indonesia, e.g. "Akta Kelahiran"."""
    info = SERVICES.get(service)
    return info.title("id") if info else service.replace("_", " ").title()


def default_holder(app: Application) -> tuple[str, str]:
    """Whom the document is for, from the form (the child for a birth deed), and their NIK."""
    data = lifecycle.data_of(app)
    info = SERVICES.get(app.service)
    name = (info.subject(data) if info else "") or app.applicant_name
    own = data.get(info.subject_nik_field, "") if info and info.subject_nik_field else ""
    nik = own or data.get("child_nik") or data.get("subject_nik") or app.applicant_nik
    return name, nik


def issue_document(
    session: Session,
    app: Application,
    actor: str,
    holder_name: str,
    holder_nik: str,
    today: date,
    *,
    notify: lifecycle.Notify | None,
) -> IssuedDocument:
    """Move a verified application to document_ready and create its numbered document."""
    holder_name, holder_nik = holder_name.strip(), holder_nik.strip()
    if not holder_name or len(holder_name) > 100:
        raise lifecycle.TransitionRefused("holder_name", "the holder's name is required", 422)
    if not (holder_nik.isdigit() and len(holder_nik) == 16):
        raise lifecycle.TransitionRefused("holder_nik", "the holder's NIK must be 16 digits", 422)
    prefix = DOCUMENT_PREFIXES.get(app.service, "DOK")
    seq = numbering.next_value(session, f"document:{app.office_code}:{prefix}:{today:%Y}")
    number = f"{app.office_code}-{prefix}-{today:%d%m%Y}-{seq:04d}"
    event = lifecycle.transition(
        session, app, "issue", actor, f"nomor dokumen {number}", notify=notify
    )
    document = IssuedDocument(
        code=secrets.token_urlsafe(15),
        application_id=app.id,
        document_number=number,
        document_type=app.service,
        holder_name=holder_name,
        holder_nik=holder_nik,
        office_code=app.office_code,
        issued_at=event.at,
        active=True,
        revoked_reason="",
        delivery_tracking="",
    )
    session.add(document)
    log.info(
        "document %s issued for %s nik=%s", number, app.registration_number, mask_nik(holder_nik)
    )
    print_codes.create_for(session, app, document)  # one-time code, sent to the citizen
    return document


def revoke(session: Session, document: IssuedDocument, reason: str) -> None:
    """Mark a document inactive; the verification page says so from now on."""
    if not reason.strip():
        raise lifecycle.TransitionRefused("reason_required", "a revocation needs a reason", 422)
    document.active, document.revoked_reason = False, reason.strip()[:200]
    log.info("document %s revoked", document.document_number)


def document_for(session: Session, app: Application) -> IssuedDocument | None:
    """The document issued for an application, if any."""
    return session.scalar(select(IssuedDocument).where(IssuedDocument.application_id == app.id))


def render_pdf(document: IssuedDocument, office_name: str, verify_url: str) -> bytes:
    """An A4 PDF of the document with a QR code that opens `verify_url`."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{document_title(document.document_type)} {document.document_number}")
    width, height = A4
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawCentredString(width / 2, height - 25 * mm, "REPUBLIK INDONESIA")
    pdf.setFont("Helvetica", 10)
    pdf.drawCentredString(width / 2, height - 31 * mm, office_name.upper())
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawCentredString(
        width / 2, height - 50 * mm, f"KUTIPAN {document_title(document.document_type).upper()}"
    )
    rows = [
        ("Nomor", document.document_number),
        ("Nama", document.holder_name),
        ("NIK", mask_nik(document.holder_nik)),
        ("Diterbitkan", document.issued_at[:10]),
    ]
    y = height - 75 * mm
    for label, value in rows:
        pdf.setFont("Helvetica", 11)
        pdf.drawString(25 * mm, y, label)
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawString(65 * mm, y, f": {value}")
        y -= 9 * mm
    size = 40 * mm
    widget = QrCodeWidget(verify_url, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, width - 25 * mm - size, 30 * mm)
    pdf.setFont("Helvetica", 8)
    pdf.drawString(25 * mm, 35 * mm, "Pindai kode QR untuk memeriksa keaslian dokumen ini:")
    pdf.drawString(25 * mm, 30 * mm, verify_url)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def verify_url(base_url: str, document: IssuedDocument) -> str:
    """The public verification URL of a document."""
    return f"{base_url.rstrip('/')}/verify/{document.code}"


def verification_router(db: Database) -> APIRouter:
    """The public page behind the QR code: active or not, number, holder and masked NIK."""
    router = APIRouter()

    @router.get("/verify/{code}", response_class=HTMLResponse, include_in_schema=False)
    def verify(request: Request, code: str) -> HTMLResponse:
        """Public verification of an issued document."""
        with db.transaction() as session:
            document = session.get(IssuedDocument, code) if len(code) <= 32 else None
            context: dict[str, Any] = {"document": None}
            if document is not None:
                office = session.get_one(Office, document.office_code)
                context = {
                    "document": document,
                    "title": document_title(document.document_type),
                    "masked_nik": mask_nik(document.holder_nik),
                    "office_name": office.name,
                }
        return TEMPLATES.TemplateResponse(
            request, "verify.html", context, status_code=200 if document else 404
        )

    return router
