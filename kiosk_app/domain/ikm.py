"""The public-service satisfaction survey (SKM) and its index (IKM), PermenPANRB No. 14/2017.

Nine elements (unsur) U1..U9, each answered on a scale of 1 to 4 with the regulation's words.
The index: the mean of every element over the respondents (unweighted), the mean of the nine
element means (the regulation's weight 1/9 each), times 25 to convert to 25..100, then the
quality category A..D of the regulation's conversion table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kiosk_app.domain.text import Text

SCALE = (1, 2, 3, 4)
CONVERSION = 25.0  # element means (1..4) x 25 -> 25..100


@dataclass(frozen=True)
class Element:
    """One element of the survey: its code, name, question and the four answers (1..4)."""

    code: str
    name: Text
    question: Text
    answers: tuple[Text, Text, Text, Text]

    def answer(self, value: int) -> Text:
        """The words of answer `value` (1..4)."""
        return self.answers[value - 1]


def _answers(*pairs: tuple[str, str]) -> tuple[Text, Text, Text, Text]:
    a, b, c, d = (Text(i, e) for i, e in pairs)
    return (a, b, c, d)


_SUITABLE = (
    ("Tidak sesuai", "Not suitable"),
    ("Kurang sesuai", "Somewhat unsuitable"),
    ("Sesuai", "Suitable"),
    ("Sangat sesuai", "Very suitable"),
)

ELEMENTS: tuple[Element, ...] = (
    Element(
        "U1",
        Text("Persyaratan", "Requirements"),
        Text(
            "Apakah persyaratan sesuai dengan layanan yang Anda urus?",
            "Did the requirements suit the service you came for?",
        ),
        _answers(*_SUITABLE),
    ),
    Element(
        "U2",
        Text("Sistem, mekanisme dan prosedur", "System, mechanism and procedure"),
        Text(
            "Seberapa mudah prosedur pelayanan di sini?", "How easy was the service procedure here?"
        ),
        _answers(
            ("Tidak mudah", "Not easy"),
            ("Kurang mudah", "Not very easy"),
            ("Mudah", "Easy"),
            ("Sangat mudah", "Very easy"),
        ),
    ),
    Element(
        "U3",
        Text("Waktu penyelesaian", "Completion time"),
        Text("Seberapa cepat Anda dilayani?", "How fast were you served?"),
        _answers(
            ("Tidak cepat", "Not fast"),
            ("Kurang cepat", "Not very fast"),
            ("Cepat", "Fast"),
            ("Sangat cepat", "Very fast"),
        ),
    ),
    Element(
        "U4",
        Text("Biaya/tarif", "Cost/fee"),
        Text(
            "Bagaimana biaya pelayanan ini menurut Anda?",
            "What do you think of the cost of this service?",
        ),
        _answers(
            ("Sangat mahal", "Very expensive"),
            ("Cukup mahal", "Rather expensive"),
            ("Murah", "Cheap"),
            ("Gratis", "Free"),
        ),
    ),
    Element(
        "U5",
        Text("Produk spesifikasi jenis pelayanan", "Service product"),
        Text(
            "Apakah hasil layanan sesuai dengan standar pelayanan yang diumumkan?",
            "Did the result match the announced service standard?",
        ),
        _answers(*_SUITABLE),
    ),
    Element(
        "U6",
        Text("Kompetensi pelaksana", "Staff competence"),
        Text("Seberapa mampu petugas melayani Anda?", "How capable were the staff?"),
        _answers(
            ("Tidak kompeten", "Not competent"),
            ("Kurang kompeten", "Not very competent"),
            ("Kompeten", "Competent"),
            ("Sangat kompeten", "Very competent"),
        ),
    ),
    Element(
        "U7",
        Text("Perilaku pelaksana", "Staff behaviour"),
        Text("Seberapa sopan dan ramah petugas?", "How polite and friendly were the staff?"),
        _answers(
            ("Tidak sopan dan ramah", "Not polite and friendly"),
            ("Kurang sopan dan ramah", "Not very polite and friendly"),
            ("Sopan dan ramah", "Polite and friendly"),
            ("Sangat sopan dan ramah", "Very polite and friendly"),
        ),
    ),
    Element(
        "U8",
        Text("Penanganan pengaduan, saran dan masukan", "Complaints and suggestions"),
        Text(
            "Bagaimana penanganan pengaduan dan saran di sini?",
            "How are complaints and suggestions handled here?",
        ),
        _answers(
            ("Tidak ada", "There is none"),
            ("Ada tetapi tidak berfungsi", "There is one, but it does not work"),
            ("Berfungsi kurang maksimal", "It works, but not fully"),
            ("Dikelola dengan baik", "It is well managed"),
        ),
    ),
    Element(
        "U9",
        Text("Sarana dan prasarana", "Facilities"),
        Text(
            "Bagaimana sarana dan prasarana (ruang, kursi, anjungan) di sini?",
            "How are the facilities here (rooms, seats, kiosk)?",
        ),
        _answers(
            ("Buruk", "Poor"), ("Cukup", "Fair"), ("Baik", "Good"), ("Sangat baik", "Very good")
        ),
    ),
)
CODES: tuple[str, ...] = tuple(e.code for e in ELEMENTS)
BY_CODE: dict[str, Element] = {e.code: e for e in ELEMENTS}

MSG_MISSING = Text(
    "Masih ada pertanyaan yang belum dijawab: nomor {numbers}. Sentuh satu jawaban untuk "
    "setiap pertanyaan, atau sentuh Lewati.",
    "Some questions are not answered yet: number {numbers}. Touch one answer for each "
    "question, or touch Skip.",
)


class InvalidAnswers(ValueError):
    """Answers that are not one value 1..4 for each of U1..U9."""


def missing(answers: Mapping[str, int]) -> list[str]:
    """Codes of the elements not answered yet, in order."""
    return [code for code in CODES if answers.get(code) not in SCALE]


def missing_message(answers: Mapping[str, int]) -> Text | None:
    """What the citizen reads when some questions are unanswered (None when all are)."""
    left = missing(answers)
    if not left:
        return None
    return MSG_MISSING.format(numbers=", ".join(code[1:] for code in left))


def validate(answers: Mapping[str, object]) -> dict[str, int]:
    """A complete, clean set of answers {U1: 1..4, ..., U9: 1..4}, or InvalidAnswers."""
    unknown = sorted(set(answers) - set(CODES))
    if unknown:
        raise InvalidAnswers(f"unknown element(s): {', '.join(map(str, unknown))[:100]}")
    clean: dict[str, int] = {}
    for code in CODES:
        value = answers.get(code)
        if isinstance(value, bool) or not isinstance(value, int) or value not in SCALE:
            raise InvalidAnswers(f"{code} must be an answer 1..4, not {value!r:.20}")
        clean[code] = value
    return clean


@dataclass(frozen=True)
class Category:
    """A quality category of the regulation: letter, performance words, converted bounds."""

    letter: str
    performance: Text
    low: float  # converted value (25..100), inclusive, two decimals
    high: float


# PermenPANRB 14/2017, conversion table: interval values 1.00-2.5996 / 2.60-3.064 /
# 3.0644-3.532 / 3.5324-4.00, converted 25.00-64.99 / 65.00-76.60 / 76.61-88.30 / 88.31-100.
CATEGORIES: tuple[Category, ...] = (
    Category("D", Text("Tidak baik", "Not good"), 25.00, 64.99),
    Category("C", Text("Kurang baik", "Less than good"), 65.00, 76.60),
    Category("B", Text("Baik", "Good"), 76.61, 88.30),
    Category("A", Text("Sangat baik", "Very good"), 88.31, 100.00),
)


def category(ikm: float) -> Category:
    """The category of a converted IKM (25..100), judged on its value rounded to 2 decimals."""
    if not 25.0 <= ikm <= 100.0:
        raise ValueError(f"an IKM lies between 25 and 100, not {ikm}")
    value = round(ikm, 2)
    for cat in reversed(CATEGORIES):
        if value >= cat.low:
            return cat
    return CATEGORIES[0]


@dataclass(frozen=True)
class IkmSummary:
    """The index of a set of responses: element means (1..4), IKM (25..100) and category."""

    respondents: int
    element_means: dict[str, float]
    ikm: float
    category: Category

    @property
    def rounded(self) -> float:
        """The IKM as reported: two decimals."""
        return round(self.ikm, 2)


def summarise_totals(respondents: int, totals: Mapping[str, int | float]) -> IkmSummary | None:
    """The index from the number of complete responses and each element's sum of answers
    (what a database aggregates); None without respondents."""
    if respondents <= 0:
        return None
    means: dict[str, float] = {}
    for code in CODES:
        mean = float(totals[code]) / respondents
        if not 1.0 <= mean <= 4.0:
            raise ValueError(f"{code}: mean {mean} outside 1..4 (totals do not match)")
        means[code] = mean
    ikm = sum(means.values()) / len(CODES) * CONVERSION
    ikm = min(100.0, max(25.0, ikm))  # float sums may stray by an ulp
    return IkmSummary(respondents, means, ikm, category(ikm))


def summarise(responses: Iterable[Mapping[str, object]]) -> IkmSummary | None:
    """The index of complete responses (each validated); None when there are none."""
    totals = dict.fromkeys(CODES, 0)
    count = 0
    for response in responses:
        clean = validate(response)
        for code in CODES:
            totals[code] += clean[code]
        count += 1
    return summarise_totals(count, totals)
