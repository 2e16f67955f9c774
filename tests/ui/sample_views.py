"""A sample SessionView for every screen, for the screenshot, layout and accessibility tests.

A new session state needs one line in STATE_SAMPLES (what its view holds beyond the common sample);
the screenshot and accessibility tests fail loudly until it has one.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from typing import Any

from kiosk_app.central import SlotAvailability
from kiosk_app.demo_data import sample_birth_values
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.session import GOODBYE_TEXT, EndReason, SessionState
from kiosk_app.domain.text import Text
from kiosk_app.domain.ticket import Slot
from kiosk_app.services.scanning.step import DocStatus, DocumentView, ScanView
from kiosk_app.services.session.views import (
    CardHolderView,
    CheckinResult,
    CheckinView,
    Outcome,
    SessionView,
    StatusCheckView,
    StatusResult,
    SurveyView,
)

TODAY = datetime.date(2026, 11, 23)  # fixed: screenshots must not change with the calendar
SLOT = Slot(datetime.date(2026, 11, 30), "08.00-11.00")
SERVICE = SERVICES["akta_kelahiran"]


def _survey(lang: str) -> dict[str, Any]:
    return {"survey": SurveyView(service="akta_kelahiran", answers={})}


def _documents(lang: str) -> dict[str, Any]:
    return {"card_holder": CardHolderView(loaded=True, code="ACEF")}


def common_values(lang: str) -> dict[str, Any]:
    """What every sample view holds: a card holder in the middle of an akta kelahiran."""
    values = sample_birth_values(TODAY)
    return {
        "language": lang,
        "reader_available": True,
        "simulated_reader": True,
        "name": "SITI AMINAH",
        "masked_nik": "3517**********01",
        "holder_sex": "P",
        "services": tuple(SERVICES.values()),
        "service": SERVICE,
        "values": values,
        "slot": SLOT,
    }


# state -> extra fields of its sample view (beyond _common), as a function of the language.
STATE_SAMPLES: dict[str, Callable[[str], dict[str, Any]]] = {
    "attract": lambda lang: {"name": "", "masked_nik": "", "service": None, "values": {}},
    "reading_card": lambda lang: {"name": "", "masked_nik": "", "service": None, "values": {}},
    "identity": lambda lang: {"service": None, "values": {}},
    "menu": lambda lang: {"service": None, "values": {}},
    "form": lambda lang: {
        "page": 0,
        "errors": {
            "kk_number": Text("Nomor KK harus 16 angka.", "The KK number must have 16 digits.")
        },
    },
    "scan": lambda lang: {
        "scan": ScanView(
            documents=tuple(
                DocumentView(t, f"doc{i}", DocStatus.PENDING, 0)
                for i, t in enumerate(SERVICE.required_documents)
            ),
            index=0,
        )
    },
    "schedule": lambda lang: {
        "slots": tuple(
            SlotAvailability(Slot(SLOT.date + datetime.timedelta(days=d), w), 12 - d)
            for d in range(3)
            for w in ("08.00-11.00", "13.00-15.00")
        )
    },
    "review": lambda lang: {"summary": tuple(SERVICE.summary(sample_birth_values(TODAY), lang))},  # type: ignore[arg-type]
    "submitting": lambda lang: {"busy": True},
    "result": lambda lang: {
        "outcome": Outcome(
            registration_number="AKTA-35.17.261123.0007",
            queue_number="A-007",
            slot=SLOT,
            offline=False,
            ticket_printed=True,
            receipt_printed=True,
        )
    },
    "goodbye": lambda lang: {
        "name": "",
        "masked_nik": "",
        "service": None,
        "values": {},
        "goodbye": GOODBYE_TEXT[EndReason.COMPLETED],
    },
    "status": lambda lang: {
        "status_check": StatusCheckView(
            prefix="AKTA",
            digits="35172611230007",
            entry="AKTA-35.17.261123.0007",
            result=StatusResult(
                registration_number="AKTA-35.17.261123.0007",
                service=SERVICE.title,
                status="submitted",
                status_text=Text(
                    "Diterima, menunggu verifikasi", "Received, waiting for verification"
                ),
                next_step=Text(
                    "Datang pada tanggal verifikasi dengan dokumen asli.",
                    "Come on the verification date with the original documents.",
                ),
                slot=SLOT,
                office_name="Disdukcapil Kabupaten Jombang",
                masked_name="S*** A*****",
            ),
        )
    },
    "survey": _survey,
    "documents": _documents,
    "checkin": lambda lang: {
        "name": "",
        "masked_nik": "",
        "service": None,
        "values": {},
        "checkin": CheckinView(
            prefix="AKTA",
            digits="35172611230007",
            entry="AKTA-35.17.261123.0007",
            result=CheckinResult(
                calling_number="A-012",
                registration_number="AKTA-35.17.261123.0007",
                service=SERVICE.title,
                counter_group="Pencatatan Sipil",
                people_ahead=3,
                estimated_wait_minutes=30,
                repeat=False,
                announcement=Text(
                    "Nomor antrean Anda A dua belas.", "Your calling number is A-012."
                ),
                printed=True,
            ),
        ),
    },
    "closed": lambda lang: {
        "name": "",
        "masked_nik": "",
        "service": None,
        "values": {},
        "reopens": Text(
            "Buka lagi Senin, 30 November 2026 pukul 08.00",
            "Opens again Monday, 30 November 2026 at 08.00",
        ),
    },
}


class MissingSample(AssertionError):
    """A screen has no sample view: add one line to STATE_SAMPLES."""


def sample_view(state: str, lang: str) -> SessionView:
    """The sample view of `state` in `lang`."""
    extra = STATE_SAMPLES.get(state)
    if extra is None:
        raise MissingSample(
            f"screen {state!r} has no sample view: add it to STATE_SAMPLES in {__file__}"
        )
    fields = {f.name for f in dataclasses.fields(SessionView)}
    values = {**common_values(lang), **extra(lang)}
    known = {k: v for k, v in values.items() if k in fields}
    return SessionView(state=SessionState(state), **known)
