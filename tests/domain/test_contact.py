"""The common contact page: mobile number, channel, email, pickup or delivery by Pos."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk_app.domain import contact
from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.identity import Identity
from tests.domain.service_values import CONTACT

TODAY = date(2026, 11, 19)
EXAMPLES = settings(max_examples=150, deadline=None)


def check(**values: str) -> dict[str, str]:
    """The contact page's messages (English) for CONTACT overridden by `values`."""
    result = contact.validate(CONTACT | values, TODAY)
    return {k: v.en for k, v in result.errors.items()}


REST = st.text("0123456789", min_size=8, max_size=11)  # after "08": 10 to 13 digits in all
GOOD_PHONES = st.tuples(st.sampled_from(["08", "+628", "628", "08 ", "+62 8"]), REST).map("".join)


@EXAMPLES
@given(GOOD_PHONES)
def test_indonesian_mobile_numbers_pass_and_normalize_to_08(phone: str) -> None:
    assert check(contact_phone=phone) == {}
    national = contact.normalize_phone(phone)
    assert national is not None and national.startswith("08") and 10 <= len(national) <= 13


BAD_PHONES = st.one_of(
    st.tuples(st.just("08"), st.text("0123456789", max_size=7)).map("".join),  # too short
    st.tuples(st.just("08"), st.text("0123456789", min_size=12, max_size=16)).map("".join),
    st.tuples(st.sampled_from(["02", "07", "09", "1", "+61", "+658"]), REST).map("".join),
    st.tuples(st.just("08"), REST, st.sampled_from(["a", "#", "."])).map("".join),
)


@EXAMPLES
@given(BAD_PHONES)
def test_other_numbers_are_refused_with_an_example(phone: str) -> None:
    errors = check(contact_phone=phone)
    assert "081234567890" in errors["contact_phone"]
    assert contact.normalize_phone(phone) is None


GOOD_EMAILS = st.tuples(
    st.from_regex(r"[a-z0-9]{1,12}([._+-][a-z0-9]{1,6})?", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,6})?", fullmatch=True),
    st.from_regex(r"(\.[a-z]{2,3})?\.[a-z]{2,6}", fullmatch=True),
).map(lambda t: f"{t[0]}@{t[1]}{t[2]}")


@EXAMPLES
@given(GOOD_EMAILS, st.booleans())
def test_email_addresses_pass_in_any_case(email: str, upper: bool) -> None:
    assert check(contact_email=email.upper() if upper else email) == {}


BAD_EMAILS = st.one_of(
    st.from_regex(r"[a-z0-9.]{1,20}", fullmatch=True),  # no @
    st.from_regex(r"[a-z]{1,5}@[a-z]{1,5}", fullmatch=True),  # no dot in the domain
    st.from_regex(r"[a-z]{1,5}@@[a-z]{1,5}\.com", fullmatch=True),
    st.from_regex(r"[a-z]{1,5} [a-z]{1,5}@[a-z]{1,5}\.com", fullmatch=True),
    st.from_regex(r"@[a-z]{1,5}\.com", fullmatch=True),
    st.from_regex(r"[a-z]{1,5}@\.com", fullmatch=True),
    st.from_regex(r"[a-z]{1,5}@[a-z]{1,5}\.[a-z]", fullmatch=True),  # one-letter TLD
)


@EXAMPLES
@given(BAD_EMAILS)
def test_bad_email_addresses_are_refused_and_empty_is_fine(email: str) -> None:
    assert "name@example.com" in check(contact_email=email)["contact_email"]
    assert check(contact_email="") == {}


def test_no_phone_is_allowed_and_a_phone_needs_a_channel() -> None:
    assert check(contact_phone="", contact_channel="") == {}
    assert "contact_channel" in check(contact_channel="")
    assert "Choose one" in check(contact_channel="telegram")["contact_channel"]


def test_delivery_by_pos_needs_an_address() -> None:
    assert check(delivery="pos") == {}
    assert "delivery address" in check(delivery="pos", delivery_address="")["delivery_address"]
    assert check(delivery="office", delivery_address="") == {}
    assert "address" in check(delivery="pos", delivery_address="JL")["delivery_address"]
    assert "delivery" in check(delivery="")
    assert "Choose one" in check(delivery="kurir")["delivery"]


def test_without_delivery_the_page_asks_only_how_to_reach_the_citizen() -> None:
    values = {k: v for k, v in CONTACT.items() if not k.startswith("delivery")}
    assert contact.validate(values, TODAY, delivery=False).ok
    ktp = SERVICES["cetak_ulang_ktp"].form
    assert ktp is not None
    assert ktp.page_fields(len(ktp.pages) - 1) == (
        "contact_phone",
        "contact_channel",
        "contact_email",
    )


def card() -> Identity:
    return Identity(
        nik="3517081208850001",
        name="BUDI SANTOSO",
        birth_place="JOMBANG",
        birth_date=date(1985, 8, 12),
        sex="LAKI-LAKI",
        blood_type="O",
        address="JL. MAWAR NO. 12",
        rt_rw="001/002",
        kelurahan_desa="SENGON",
        kecamatan="JOMBANG",
        kabupaten_kota="JOMBANG",
        province="JAWA TIMUR",
        religion="ISLAM",
        marital_status="KAWIN",
        occupation="WIRASWASTA",
        citizenship="WNI",
        valid_until="SEUMUR HIDUP",
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_prefill_offers_pickup_and_the_cards_address(service: str) -> None:
    values = SERVICES[service].prefill(card())
    assert values["contact_channel"] == "sms" and "contact_phone" not in values
    if service == "cetak_ulang_ktp":
        assert "delivery" not in values and "delivery_address" not in values
    else:
        assert values["delivery"] == "office"
        assert values["delivery_address"].startswith("JL. MAWAR NO. 12 RT/RW 001/002, SENGON")


def test_summary_shows_the_address_only_for_pos_and_no_channel_without_a_phone() -> None:
    rows = dict(contact.summary(CONTACT, "en"))
    assert rows["Mobile phone number"] == "081234567890"
    assert rows["How to receive news of the application"] == "WhatsApp"
    assert rows["When the document is ready"] == "I collect it at the office"
    assert "Delivery address (Pos)" not in rows
    pos = dict(contact.summary(CONTACT | {"delivery": "pos", "contact_phone": ""}, "id"))
    assert pos["Alamat pengiriman Pos"] == CONTACT["delivery_address"]
    assert pos["Cara menerima kabar permohonan"] == "-"
    masked = dict(contact.summary(CONTACT, "id", mask=True))
    assert masked["Nomor HP"] == "0812****7890"
