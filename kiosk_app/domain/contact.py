"""The last page of every form: how the office reaches the citizen, and pickup or delivery by Pos.

The data keys are the ones the central server reads (central_server/notify/outbox.py and
central_server/lifecycle.py): contact_phone, contact_channel (sms|whatsapp), contact_email,
delivery ("office"|"pos") and delivery_address. The server checks them with these same rules
(central_server/content.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date

from kiosk_app.domain.formkit import MSG as FORM_MSG
from kiosk_app.domain.formkit import (
    FormRules,
    address_of,
    check_address,
    check_choice,
    make_field,
    summary_rows,
)
from kiosk_app.domain.forms import (
    Choice,
    FieldKind,
    FieldSpec,
    FormPage,
    FormSpec,
    ValidationResult,
)
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.text import Language, Text

T = Text
K = FieldKind
CHANNELS = ("sms", "whatsapp")
DELIVERIES = ("office", "pos")
PHONE = "contact_phone"
CHANNEL = "contact_channel"
EMAIL = "contact_email"
DELIVERY = "delivery"
DELIVERY_ADDRESS = "delivery_address"

MSG: dict[str, Text] = {
    "phone": T(
        "Nomor HP harus diawali 08 (atau +628), 10 sampai 13 angka. Contoh 081234567890.",
        "The mobile number must start with 08 (or +628), 10 to 13 digits. E.g. 081234567890.",
    ),
    "email": T(
        "Alamat email belum benar. Contoh: nama@contoh.com. Boleh dikosongkan.",
        "The email address is not right. Example: name@example.com. You may leave it empty.",
    ),
    "pos_address": T(
        "Tulis alamat pengiriman lengkap: jalan, nomor rumah, RT/RW, desa/kelurahan.",
        "Write the full delivery address: street, house number, RT/RW, village.",
    ),
}

PHONE_FIELD = make_field(
    PHONE,
    "Nomor HP",
    "Mobile phone number",
    K.DIGITS,
    required=False,
    max_length=14,
    hint=T(
        "Untuk kabar permohonan Anda. Contoh 081234567890. Kosongkan bila tidak punya HP.",
        "For news of your application. E.g. 081234567890. Leave empty if you have no phone.",
    ),
)
CHANNEL_FIELD = make_field(
    CHANNEL,
    "Cara menerima kabar permohonan",
    "How to receive news of the application",
    K.CHOICE,
    required=False,
    choices=(Choice("sms", T("SMS", "SMS")), Choice("whatsapp", T("WhatsApp", "WhatsApp"))),
    hint=T("Pilih SMS atau WhatsApp", "Choose SMS or WhatsApp"),
)
EMAIL_FIELD = make_field(
    EMAIL,
    "Email",
    "Email",
    K.EMAIL,
    required=False,
    max_length=254,
    hint=T("Contoh nama@contoh.com (boleh kosong)", "E.g. name@example.com (may be empty)"),
)
DELIVERY_FIELD = make_field(
    DELIVERY,
    "Dokumen yang sudah jadi",
    "When the document is ready",
    K.CHOICE,
    choices=(
        Choice("office", T("Saya ambil di kantor", "I collect it at the office")),
        Choice("pos", T("Kirim lewat Pos ke alamat saya", "Send it by Pos to my address")),
    ),
)
ADDRESS_FIELD = make_field(
    DELIVERY_ADDRESS,
    "Alamat pengiriman Pos",
    "Delivery address (Pos)",
    K.TEXT,
    required=False,
    max_length=150,
    hint=T(
        "Wajib bila dikirim lewat Pos. Dari e-KTP, boleh diubah.",
        "Needed for delivery by Pos. From the e-KTP, you may change it.",
    ),
)
TITLE = T("Kabar dan pengambilan", "Contact and collection")
CONTACT_PAGE = FormPage(
    "kontak", TITLE, (PHONE_FIELD, CHANNEL_FIELD, EMAIL_FIELD, DELIVERY_FIELD, ADDRESS_FIELD)
)
CONTACT_ONLY_PAGE = FormPage(
    "kontak", T("Kabar permohonan", "Contact"), (PHONE_FIELD, CHANNEL_FIELD, EMAIL_FIELD)
)

_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def normalize_phone(value: str) -> str | None:
    """An Indonesian mobile number in national form (08...), or None when it is not one.

    Accepts 08..., +628... and 628..., with spaces or dashes; 10 to 13 digits in national form.
    """
    if not isinstance(value, str):
        return None
    compact = re.sub(r"[\s\-]", "", value.strip())
    if compact.startswith("+62"):
        compact = "0" + compact[3:]
    elif compact.startswith("62"):
        compact = "0" + compact[2:]
    ok = compact.isascii() and compact.isdigit() and compact.startswith("08")
    return compact if ok and 10 <= len(compact) <= 13 else None


def is_email(value: str) -> bool:
    """A plausible email address (local@domain.tld, at most 254 characters)."""
    if not isinstance(value, str) or len(value) > 254:
        return False
    return _EMAIL_RE.fullmatch(value) is not None and len(value.split("@")[0]) <= 64


def _check_phone(spec: FieldSpec, value: str, today: date) -> Text | None:
    return None if normalize_phone(value) else MSG["phone"]


def _check_email(spec: FieldSpec, value: str, today: date) -> Text | None:
    return None if is_email(value) else MSG["email"]


def _check_channel(spec: FieldSpec, value: str, today: date) -> Text | None:
    return check_choice(spec, value, today)


def _cross(values: Mapping[str, str], errors: dict[str, Text], today: date) -> None:
    if values.get(DELIVERY) == "pos" and not values.get(DELIVERY_ADDRESS):
        errors.setdefault(DELIVERY_ADDRESS, MSG["pos_address"])
    if values.get(PHONE) and not values.get(CHANNEL) and PHONE not in errors:
        errors.setdefault(CHANNEL, FORM_MSG["required"])


def rules(delivery: bool = True) -> FormRules:
    """The contact page's rules; `delivery` adds the pickup-or-Pos choice."""
    page = CONTACT_PAGE if delivery else CONTACT_ONLY_PAGE
    checks = {PHONE: _check_phone, EMAIL: _check_email, CHANNEL: _check_channel}
    if delivery:
        checks[DELIVERY_ADDRESS] = check_address
    return FormRules((page,), checks=checks, cross=_cross)


def validate(
    values: Mapping[str, str], today: date | None = None, delivery: bool = True
) -> ValidationResult:
    """Check the contact page on its own."""
    return rules(delivery).validate(values, today or date.today())


def prefill(identity: Identity, delivery: bool = True) -> dict[str, str]:
    """SMS by default, pickup at the office, the card's address ready for delivery by Pos."""
    values = {CHANNEL: "sms"}
    if delivery:
        values[DELIVERY] = "office"
        address = address_of(identity, ADDRESS_FIELD.max_length or 150)
        if address:
            values[DELIVERY_ADDRESS] = address
    return values


def summary(
    values: Mapping[str, str], lang: Language, *, mask: bool = False, delivery: bool = True
) -> list[tuple[str, str]]:
    """The contact rows; without a phone the channel row says "-", without Pos no address row."""
    shown = dict(values)
    if not str(shown.get(PHONE, "")).strip():
        shown[CHANNEL] = ""
    rows = summary_rows(rules(delivery), shown, lang, mask)
    if delivery and str(values.get(DELIVERY, "")).strip() != "pos":
        label = ADDRESS_FIELD.label(lang)
        rows = [r for r in rows if r[0] != label]
    return rows


Summarize = Callable[..., list[tuple[str, str]]]
Prefill = Callable[[Identity], dict[str, str]]


def with_contact(form: FormSpec, delivery: bool = True) -> FormSpec:
    """`form` with the contact page appended and its rules added to the form's validation."""
    contact = rules(delivery)

    def validate_all(values: Mapping[str, str], today: date) -> ValidationResult:
        """The service's own rules, then the contact page's."""
        errors = dict(form.validate(values, today).errors)
        errors.update(contact.validate(values, today).errors)
        return ValidationResult(errors)

    return replace(form, pages=form.pages + contact.pages, check=validate_all)


def with_contact_summary(summarize: Summarize, delivery: bool = True) -> Summarize:
    """A summary function followed by the contact rows."""

    def combined(
        values: Mapping[str, str], lang: Language, *, mask: bool = False
    ) -> list[tuple[str, str]]:
        """The service's rows, then how the citizen is reached and gets the document."""
        return summarize(values, lang, mask=mask) + summary(
            values, lang, mask=mask, delivery=delivery
        )

    return combined


def with_contact_prefill(fill: Prefill | None, delivery: bool = True) -> Prefill:
    """A prefill function with the contact page's defaults added."""

    def combined(identity: Identity) -> dict[str, str]:
        """The service's values from the card plus the contact defaults."""
        values = fill(identity) if fill is not None else {}
        return {**prefill(identity, delivery), **values}

    return combined
