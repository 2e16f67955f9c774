"""Every service form with its contact page: valid values pass, missing or bad ones are told."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kiosk_app.domain.catalogue import SERVICES
from kiosk_app.domain.forms import FieldKind, FormSpec
from kiosk_app.domain.regions import PROVINCES
from kiosk_app.domain.text import Text
from tests.domain.service_values import CASES, with_contact

# Fields each case must have besides those every variant requires (FieldSpec.required).
VARIANT_REQUIRED: dict[str, set[str]] = {
    "death": set(),
    "new_member": {
        "member_reason",
        "member_name",
        "member_sex",
        "member_birth_date",
        "member_relation",
    },
    "correction": {"person_nik", "person_name", "data_element", "old_value", "new_value"},
    "split": {
        "new_head_nik",
        "new_head_name",
        "split_reason",
        "split_members",
        "new_region",
        "new_address",
    },
    "lost": {"police_report_number", "police_report_date"},
    "damaged": {"bring_old_card"},
    "child_6": {"child_photo"},
    "child_3": set(),
    "out": {
        "dest_region",
        "dest_address",
        "move_class",
        "move_reason",
        "move_date",
        "move_type",
        "kk_status_moving",
        "kk_status_staying",
        "members_count",
        "member1_nik",
        "member1_shdk",
    },
    "in": {"origin_region", "origin_address", "moving_letter_number", "new_region", "new_address"},
}
IDS = [f"{service}-{name}" for service, name, _ in CASES]
EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def form_of(service: str) -> FormSpec:
    form = SERVICES[service].form
    assert form is not None
    return form


def required_names(service: str, case: str) -> set[str]:
    form = form_of(service)
    static = {f.name for page in form.pages for f in page.fields if f.required}
    return static | VARIANT_REQUIRED[case] | {"contact_channel"}  # a phone is given


def shown_in_both_languages(message: Text) -> bool:
    return bool(message.id.strip()) and bool(message.en.strip()) and message.id != message.en


def errors_of(service: str, values: Mapping[str, str]) -> dict[str, Text]:
    return dict(form_of(service).validate(values).errors)


@pytest.mark.parametrize(("service", "case", "values"), CASES, ids=IDS)
def test_valid_values_pass(service: str, case: str, values: dict[str, str]) -> None:
    assert errors_of(service, with_contact(service, values)) == {}


@pytest.mark.parametrize(("service", "case", "values"), CASES, ids=IDS)
def test_contact_page_is_last_and_every_page_validates_alone(
    service: str, case: str, values: dict[str, str]
) -> None:
    form = form_of(service)
    assert form.pages[-1].key == "kontak"
    for index in range(len(form.pages)):
        assert form.validate_page(index, with_contact(service, values)).ok
    empty = {n: "" for page in form.pages for f in page.fields for n in [f.name]}
    first = form.validate_page(0, empty)
    assert first.errors and set(first.errors) <= set(form.page_fields(0))


@pytest.mark.parametrize(("service", "case", "values"), CASES, ids=IDS)
@EXAMPLES
@given(data=st.data())
def test_each_required_field_missing_gets_its_message(
    service: str, case: str, values: dict[str, str], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(required_names(service, case))), label="field")
    blank = data.draw(st.sampled_from(["", "   ", "\t"]), label="blank")
    errors = errors_of(service, with_contact(service, values) | {name: blank})
    assert name in errors, f"{name} missing gave no message"
    assert shown_in_both_languages(errors[name])


@pytest.mark.parametrize(("service", "case", "values"), CASES, ids=IDS)
@EXAMPLES
@given(data=st.data())
def test_leaving_out_what_the_case_does_not_need_is_fine(
    service: str, case: str, values: dict[str, str], data: st.DataObject
) -> None:
    form = form_of(service)
    everything = with_contact(service, values)
    optional = sorted(set(everything) - required_names(service, case))
    dropped = data.draw(st.sets(st.sampled_from(optional)) if optional else st.just(set()))
    kept = {k: v for k, v in everything.items() if k not in dropped}
    assert form.validate(kept).ok, {k: e.en for k, e in form.validate(kept).errors.items()}


def nik_fields(service: str, values: Mapping[str, str]) -> list[str]:
    form = form_of(service)
    return sorted(
        f.name
        for page in form.pages
        for f in page.fields
        if f.kind is FieldKind.DIGITS and f.name in values and f.name.endswith("_nik")
    )


BAD_NIKS = st.one_of(
    st.text("0123456789", min_size=1, max_size=15),  # too short
    st.text("0123456789", min_size=17, max_size=20),  # too long
    st.text("0123456789", min_size=15, max_size=15).map(lambda s: s[:7] + "X" + s[7:]),
    st.sampled_from(["00", "10", "20", "99"]).map(lambda p: p + "17080101850001"),  # province
    st.just("3517083213850001"),  # day 32 is no date (nor 72 for women)
    st.just("3517081208850000"),  # serial 0000
)


def cases_with(fields: object) -> list[tuple[str, str, dict[str, str]]]:
    return [c for c in CASES if fields(c[0], c[2])]  # type: ignore[operator]


@pytest.mark.parametrize(("service", "case", "values"), cases_with(lambda s, v: nik_fields(s, v)))
@EXAMPLES
@given(data=st.data())
def test_a_bad_nik_is_refused_on_its_field(
    service: str, case: str, values: dict[str, str], data: st.DataObject
) -> None:
    names = nik_fields(service, values)
    name = data.draw(st.sampled_from(names), label="field")
    bad = data.draw(BAD_NIKS, label="nik")
    errors = errors_of(service, with_contact(service, values) | {name: bad})
    assert name in errors and shown_in_both_languages(errors[name])


def region_fields(service: str, values: Mapping[str, str]) -> list[str]:
    form = form_of(service)
    return sorted(
        f.name
        for page in form.pages
        for f in page.fields
        if f.kind is FieldKind.REGION and f.name in values
    )


UNKNOWN_PROVINCES = sorted(f"{n:02d}" for n in range(100) if f"{n:02d}" not in PROVINCES)
BAD_REGIONS = st.one_of(
    st.text("0123456789", min_size=1, max_size=9),  # not the 10 digits of a village
    st.text("0123456789", min_size=11, max_size=14),
    st.just("35.17.08.2001"),  # dots are not kept
    st.text("ABCXYZ", min_size=10, max_size=10),
    st.tuples(
        st.sampled_from(UNKNOWN_PROVINCES), st.text("0123456789", min_size=8, max_size=8)
    ).map("".join),
)


@pytest.mark.parametrize(
    ("service", "case", "values"), cases_with(lambda s, v: region_fields(s, v))
)
@EXAMPLES
@given(data=st.data())
def test_regions_have_the_shape_of_their_level(
    service: str, case: str, values: dict[str, str], data: st.DataObject
) -> None:
    names = region_fields(service, values)
    name = data.draw(st.sampled_from(names), label="field")
    bad = data.draw(BAD_REGIONS, label="bad")
    errors = errors_of(service, with_contact(service, values) | {name: bad})
    assert name in errors and shown_in_both_languages(errors[name])
    good = data.draw(
        st.tuples(
            st.sampled_from(sorted(PROVINCES)), st.text("0123456789", min_size=8, max_size=8)
        ).map("".join)
    )
    others = {values[n] for n in names if n != name}
    assume(good not in others)
    assert name not in errors_of(service, with_contact(service, values) | {name: good})


NAME = st.from_regex(r"[A-Z][A-Z]{1,14}( [A-Z]{2,14}){0,2}", fullmatch=True)


@pytest.mark.parametrize(
    ("service", "case", "values"), cases_with(lambda s, v: any(n.endswith("_name") for n in v))
)
@EXAMPLES
@given(data=st.data())
def test_any_plain_name_is_accepted(
    service: str, case: str, values: dict[str, str], data: st.DataObject
) -> None:
    names = sorted(n for n in values if n.endswith("_name"))
    name = data.draw(st.sampled_from(names), label="field")
    value = data.draw(NAME, label="name")
    errors = errors_of(service, with_contact(service, values) | {name: value})
    assert name not in errors
    digits = errors_of(service, with_contact(service, values) | {name: value + " 2"})
    assert name in digits and shown_in_both_languages(digits[name])


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_summary_masks_niks_and_names_the_subject(service: str) -> None:
    info = SERVICES[service]
    from kiosk_app.demo_data import sample_birth_values

    with_niks = [
        with_contact(s, v)
        for s, _, v in CASES
        if s == service and any(k.endswith("_nik") for k in v)
    ]
    values = with_niks[0] if with_niks else sample_birth_values()
    assert info.subject_field and info.subject(values), service
    if info.subject_nik_field:
        assert len(values[info.subject_nik_field]) == 16
    rows = info.summary(values, "id", mask=True)
    text = "\n".join(f"{label}: {value}" for label, value in rows)
    niks = [v for k, v in values.items() if k.endswith("_nik") and v]
    assert niks and all(nik not in text for nik in niks)
    assert all(nik[:4] in text and nik[-4:] in text for nik in niks)
    assert "Nomor HP" in text and "0812****7890" in text
    english = info.summary(values, "en")
    assert any(label == "Mobile phone number" for label, _ in english)
    assert len(rows) == len(english)
