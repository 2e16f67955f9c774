"""Bilingual text: what the citizen sees, Bahasa Indonesia first, English second."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["id", "en"]
LANGUAGES: tuple[Language, ...] = ("id", "en")


def as_language(code: str) -> Language:
    """The language to show for a code: English when asked for, Bahasa Indonesia otherwise."""
    return "en" if code == "en" else "id"


@dataclass(frozen=True)
class Text:
    """A message in Bahasa Indonesia (`id`) with its English translation (`en`)."""

    id: str
    en: str

    def __call__(self, lang: str) -> str:
        """Return the message in `lang` (any code but "en" reads Bahasa Indonesia)."""
        return self.en if lang == "en" else self.id

    def format(self, **values: object) -> Text:
        """Return a copy with `str.format` placeholders filled in both languages (a Text value
        fills each language with its own words)."""

        def filled(lang: str) -> dict[str, object]:
            return {k: v(lang) if isinstance(v, Text) else v for k, v in values.items()}

        return Text(self.id.format(**filled("id")), self.en.format(**filled("en")))

    def then(self, other: Text) -> Text:
        """Return this message followed by `other` (a space between), in both languages."""
        return Text(f"{self.id} {other.id}", f"{self.en} {other.en}")
