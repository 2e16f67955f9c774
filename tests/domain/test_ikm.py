"""The IKM survey: elements, validation, the index and its categories, the SURVEY state."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk_app.domain import ikm
from kiosk_app.domain.identity import Identity
from kiosk_app.domain.session import EndReason, SessionMachine, SessionState, Timeouts

S = SessionState
answer = st.integers(1, 4)
response = st.fixed_dictionaries({code: answer for code in ikm.CODES})
responses = st.lists(response, min_size=1, max_size=40)


def test_nine_elements_in_the_regulations_order_with_four_worded_answers() -> None:
    assert ikm.CODES == ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")
    names = [e.name.id for e in ikm.ELEMENTS]
    assert names == [
        "Persyaratan",
        "Sistem, mekanisme dan prosedur",
        "Waktu penyelesaian",
        "Biaya/tarif",
        "Produk spesifikasi jenis pelayanan",
        "Kompetensi pelaksana",
        "Perilaku pelaksana",
        "Penanganan pengaduan, saran dan masukan",
        "Sarana dan prasarana",
    ]
    for element in ikm.ELEMENTS:
        assert element.question.id and element.question.en and element.question.id.endswith("?")
        assert len(element.answers) == 4
        assert all(a.id and a.en for a in element.answers)
        assert len({a.id for a in element.answers}) == 4
    assert ikm.BY_CODE["U4"].answer(4).id == "Gratis"  # the regulation: free is the best answer
    assert ikm.BY_CODE["U8"].answer(1).id == "Tidak ada"
    assert ikm.BY_CODE["U9"].answer(4).id == "Sangat baik"


@given(response)
def test_a_complete_response_validates_to_itself(answers: dict[str, int]) -> None:
    assert ikm.validate(answers) == answers
    assert ikm.missing(answers) == [] and ikm.missing_message(answers) is None


@given(
    response,
    st.sampled_from(ikm.CODES),
    st.one_of(
        st.integers().filter(lambda v: v not in ikm.SCALE),
        st.none(),
        st.booleans(),
        st.text(max_size=3),
        st.floats(allow_nan=False),
    ),
)
def test_a_bad_answer_is_refused(answers: dict[str, int], code: str, bad: object) -> None:
    broken: dict[str, object] = {**answers, code: bad}
    with pytest.raises(ikm.InvalidAnswers, match=code):
        ikm.validate(broken)


@given(response, st.text(min_size=1, max_size=5).filter(lambda k: k not in ikm.CODES))
def test_an_unknown_element_is_refused(answers: dict[str, int], extra: str) -> None:
    with pytest.raises(ikm.InvalidAnswers, match="unknown"):
        ikm.validate({**answers, extra: 3})


@given(response, st.sets(st.sampled_from(ikm.CODES), min_size=1))
def test_missing_answers_are_named_by_number(answers: dict[str, int], gone: set[str]) -> None:
    partial = {k: v for k, v in answers.items() if k not in gone}
    assert ikm.missing(partial) == [c for c in ikm.CODES if c in gone]
    message = ikm.missing_message(partial)
    assert message is not None
    numbers = ", ".join(c[1:] for c in ikm.CODES if c in gone)
    assert f"nomor {numbers}." in message.id and f"number {numbers}." in message.en
    with pytest.raises(ikm.InvalidAnswers):
        ikm.validate(partial)


@given(responses)
def test_ikm_is_the_mean_of_the_element_means_times_25(rows: list[dict[str, int]]) -> None:
    summary = ikm.summarise(rows)
    assert summary is not None and summary.respondents == len(rows)
    for code in ikm.CODES:
        expected = sum(r[code] for r in rows) / len(rows)
        assert summary.element_means[code] == pytest.approx(expected)
        assert 1.0 <= summary.element_means[code] <= 4.0
    assert summary.ikm == pytest.approx(sum(summary.element_means.values()) / 9 * 25)
    assert 25.0 <= summary.ikm <= 100.0
    assert summary.category is ikm.category(summary.ikm)


@given(responses, st.integers(0, 39), st.sampled_from(ikm.CODES))
def test_a_better_answer_never_lowers_the_index(
    rows: list[dict[str, int]], index: int, code: str
) -> None:
    row = rows[index % len(rows)]
    if row[code] == 4:
        return
    better = [dict(r) for r in rows]
    better[index % len(rows)][code] += 1
    before, after = ikm.summarise(rows), ikm.summarise(better)
    assert before is not None and after is not None
    assert after.ikm > before.ikm
    assert after.category.low >= before.category.low


@given(responses)
def test_totals_give_the_same_summary_as_the_rows(rows: list[dict[str, int]]) -> None:
    totals = {code: sum(r[code] for r in rows) for code in ikm.CODES}
    assert ikm.summarise_totals(len(rows), totals) == ikm.summarise(rows)


def test_no_respondents_no_index() -> None:
    assert ikm.summarise([]) is None
    assert ikm.summarise_totals(0, dict.fromkeys(ikm.CODES, 0)) is None
    with pytest.raises(ValueError, match="outside"):
        ikm.summarise_totals(2, dict.fromkeys(ikm.CODES, 9))


@pytest.mark.parametrize(
    ("value", "letter"),
    [
        (25.0, "D"),
        (64.99, "D"),
        (64.994, "D"),
        (65.0, "C"),
        (76.6, "C"),
        (76.604, "C"),
        (76.61, "B"),
        (88.3, "B"),
        (88.31, "A"),
        (100.0, "A"),
    ],
)
def test_category_bounds_of_the_regulation(value: float, letter: str) -> None:
    assert ikm.category(value).letter == letter


def test_everyone_answering_the_same_gives_25_times_the_answer() -> None:
    for value, letter, words in (
        (1, "D", "Tidak baik"),
        (2, "D", "Tidak baik"),
        (3, "C", "Kurang baik"),
        (4, "A", "Sangat baik"),
    ):
        summary = ikm.summarise([dict.fromkeys(ikm.CODES, value)] * 3)
        assert summary is not None
        assert summary.rounded == 25 * value
        assert (summary.category.letter, summary.category.performance.id) == (letter, words)


@given(st.floats(25.0, 100.0), st.floats(25.0, 100.0))
def test_categories_are_ordered_and_cover_25_to_100(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert ikm.category(low).low <= ikm.category(high).low
    cat = ikm.category(a)
    assert cat.low <= round(a, 2) <= cat.high or round(a, 2) < ikm.CATEGORIES[1].low


@pytest.mark.parametrize("value", [24.99, 100.01, -1.0])
def test_an_index_outside_25_to_100_is_a_bug(value: float) -> None:
    with pytest.raises(ValueError):
        ikm.category(value)


# -- the SURVEY state of the session machine -------------------------------------------------


def identity() -> Identity:
    return Identity(
        nik="3517014501900001",
        name="SITI AMINAH",
        birth_place="JOMBANG",
        birth_date=date(1990, 1, 5),
        sex="P",
        blood_type="O",
        address="JL. MERDEKA 1",
        rt_rw="001/002",
        kelurahan_desa="PERAK",
        kecamatan="PERAK",
        kabupaten_kota="JOMBANG",
        province="JAWA TIMUR",
        religion="ISLAM",
        marital_status="KAWIN",
        occupation="WIRASWASTA",
        citizenship="WNI",
        valid_until="SEUMUR HIDUP",
        photo_jpeg=b"\xff\xd8photo",
    )


def at_menu() -> tuple[SessionMachine, Identity]:
    m = SessionMachine(timeouts=Timeouts(inactivity_s=60, warning_s=20, goodbye_s=5))
    card = identity()
    assert m.card_inserted(0) and m.identity_read(card, 1) and m.to_menu(2)
    return m, card


def test_the_survey_wipes_the_visit_and_ends_with_the_normal_goodbye() -> None:
    m, card = at_menu()
    assert m.open_survey(3)
    assert m.state is S.SURVEY and m.identity is None and card.nik == "" and card.name == ""
    assert not m.to_menu(4) and not m.submit(4)
    assert m.card_removed(5) and m.state is S.SURVEY  # taking the card does not end it
    assert m.survey_done(6)
    assert m.state is S.GOODBYE and m.end_reason is EndReason.COMPLETED
    assert not m.survey_done(7)


def test_the_survey_is_offered_only_at_the_end_of_a_visit() -> None:
    m, _ = at_menu()
    assert m.start_form("akta_kelahiran", 2, {}, 3)
    assert not m.open_survey(4) and m.state is S.FORM
    fresh = SessionMachine()
    assert not fresh.open_survey(0) and fresh.state is S.ATTRACT


def test_an_unanswered_survey_warns_then_ends_and_a_new_card_starts_afresh() -> None:
    m, _ = at_menu()
    assert m.open_survey(10)
    assert m.tick(70) and m.warning_seconds_left(70) == 20
    assert m.tick(91) and m.state is S.GOODBYE and m.end_reason is EndReason.INACTIVITY
    m2, _ = at_menu()
    assert m2.open_survey(3) and m2.card_inserted(4) and m2.state is S.READING_CARD
