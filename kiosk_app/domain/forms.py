"""Generic description of a pre-application form: pages of typed fields the UI renders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from kiosk_app.domain.text import Text


class FieldKind(Enum):
    """How a field is entered on the kiosk (which on-screen keyboard or picker)."""

    TEXT = "text"  # letters keyboard
    DIGITS = "digits"  # numeric keypad, value kept as a string of digits (NIK, KK number)
    NUMBER = "number"  # numeric keypad, may carry a decimal point (weight, length)
    DATE = "date"  # date picker, value "YYYY-MM-DD"
    TIME = "time"  # time picker, value "HH:MM"
    CHOICE = "choice"  # big buttons, value is the choice key
    EMAIL = "email"  # email keyboard (small letters, "@"), value as typed
    REGION = "region"  # region picker (search as you type), value is a Kemendagri code
    LIST = "list"  # a long list of usual answers (choices, paged), "Lainnya" types another;
    # the value is the answer's text (a choice's key, or what was typed)


@dataclass(frozen=True)
class Choice:
    """One option of a CHOICE field."""

    key: str
    label: Text


@dataclass(frozen=True)
class FieldSpec:
    """One field: its value is always a string as the citizen entered it."""

    name: str
    label: Text
    kind: FieldKind
    required: bool = True
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    hint: Text | None = None
    # REGION fields: the level picked (1 province, 2 kabupaten/kota, 3 kecamatan, 4 kelurahan/desa)
    region_level: int = 4


@dataclass(frozen=True)
class FormPage:
    """One screen of a form."""

    key: str
    title: Text
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class ValidationResult:
    """Per-field messages; empty means valid. Never raised, always returned."""

    errors: Mapping[str, Text] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors


Validator = Callable[[Mapping[str, str], date], ValidationResult]  # values, the day checked on


@dataclass(frozen=True)
class FormSpec:
    """A whole pre-application form for one service."""

    service: str  # e.g. "akta_kelahiran"
    title: Text
    pages: tuple[FormPage, ...]
    check: Validator  # validates all values on a given day; callers filter by page

    def validate(self, values: Mapping[str, str], today: date | None = None) -> ValidationResult:
        """Every value and the rules between them, on `today` (the kiosk's date by default;
        the central server passes its own)."""
        return self.check(values, today or date.today())

    def page_fields(self, index: int) -> tuple[str, ...]:
        """Names of the fields on page `index`."""
        return tuple(f.name for f in self.pages[index].fields)

    def validate_page(self, index: int, values: Mapping[str, str]) -> ValidationResult:
        """Validate everything, keep the messages that belong to page `index`."""
        names = set(self.page_fields(index))
        result = self.validate(values)
        return ValidationResult({k: v for k, v in result.errors.items() if k in names})

    def field(self, name: str) -> FieldSpec:
        """Look a field up by name."""
        for page in self.pages:
            for f in page.fields:
                if f.name == name:
                    return f
        raise KeyError(name)
