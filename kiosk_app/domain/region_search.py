"""The Kemendagri region tree in memory: names by code, children, display labels and search.

Codes carry no dots: 2 digits for a province, 4 for a kabupaten/kota, 6 for a kecamatan and 10
for a kelurahan/desa; a code's parent is its prefix. Search folds case, accents and punctuation,
matches the start of any word (also across spaces: "sukamaju" finds "Suka Maju"), ranks exact
names, then names that start with the query, then later words, and lets further words name the
kecamatan, kabupaten/kota or province ("sukamaju garut").
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CODE_LENGTHS = {1: 2, 2: 4, 3: 6, 4: 10}
LEVEL_OF_LENGTH = {length: level for level, length in CODE_LENGTHS.items()}
_TOP = chr(0x10FFFF)
_MANY = 3000  # name matches above which context words are checked with position sets
_KEEP_UPPER = re.compile(r"^(?:[IVX]+|DKI|DI|RT|RW)$")
_REGENCY_KIND = re.compile(r"^\s*(kabupaten|kab\.?|kota)\s+", re.IGNORECASE)


def level_of(code: str) -> int | None:
    """Level of a code (1 province .. 4 kelurahan/desa), None when it is not a region code."""
    if not isinstance(code, str) or not code.isdigit() or not code.isascii():
        return None
    return LEVEL_OF_LENGTH.get(len(code))


def parent_of(code: str) -> str | None:
    """The code one level up ("3517092009" -> "351709"), None for a province."""
    level = level_of(code)
    if level is None or level == 1:
        return None
    return code[: CODE_LENGTHS[level - 1]]


_FOLD: dict[int, str | None] = {i: " " for i in range(128) if not chr(i).isalnum()}
_FOLD.update({ord("'"): None, ord("`"): None})


def fold(text: str) -> list[str]:
    """Search words of `text`: lower case, no accents, apostrophes dropped, others split."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.replace("\u2019", ""))
        text = text.encode("ascii", "ignore").decode("ascii")
    return text.lower().translate(_FOLD).split()


def _title(name: str) -> str:
    """Title-case a name written in capitals ("KOTA BAU-BAU" -> "Kota Bau-Bau")."""
    if any(c.islower() for c in name):
        return name
    words = []
    for word in name.split():
        if _KEEP_UPPER.match(word.rstrip(".,")):
            words.append(word)
        else:
            words.append("-".join(p[:1].upper() + p[1:].lower() for p in word.split("-")))
    return " ".join(words)


def split_regency(name: str) -> tuple[str, str]:
    """("Kab." or "Kota", the name without its kind) of a kabupaten/kota name."""
    match = _REGENCY_KIND.match(name)
    if match is None:
        return "Kab.", name.strip()
    kind = "Kota" if match.group(1).lower() == "kota" else "Kab."
    return kind, name[match.end() :].strip()


@dataclass(frozen=True)
class SearchResult:
    """Codes of the best matches (best first) and how many regions matched in all."""

    codes: tuple[str, ...]
    total: int


class _LevelIndex:
    """Sorted search keys of the regions of one level (bisect gives a prefix's range)."""

    def __init__(self, tree: RegionTree, level: int) -> None:
        self.codes = tree.codes_at(level)
        starts: list[tuple[str, int]] = []
        inners: list[tuple[str, int]] = []
        for pos, code in enumerate(self.codes):
            words = tree.words(code)
            for i in range(len(words)):
                (starts if i == 0 else inners).append(("".join(words[i:]), pos))
            if level == 2:  # "kota bandung" and "kabupaten jombang" find them too
                full = "".join(fold(tree.raw_name(code)))
                inners.append((full, pos))
        starts.sort()
        inners.sort()
        self.start_keys = [k for k, _ in starts]
        self.start_pos = [p for _, p in starts]
        self.inner_keys = [k for k, _ in inners]
        self.inner_pos = [p for _, p in inners]
        # Ancestors (every region above this level) by the start of any of their words.
        above: list[tuple[str, str]] = []
        for upper in range(1, level):
            for code in tree.codes_at(upper):
                words = fold(tree.raw_name(code))
                for i in range(len(words)):
                    above.append(("".join(words[i:]), code))
        above.sort()
        self.above_keys = [k for k, _ in above]
        self.above_codes = [c for _, c in above]

    @staticmethod
    def _range(keys: list[str], prefix: str) -> tuple[int, int]:
        return bisect_left(keys, prefix), bisect_left(keys, prefix + _TOP)

    def name_matches(self, prefix: str) -> tuple[list[int], list[int]]:
        """Positions whose name starts with `prefix`, and those where a later word does."""
        lo, hi = self._range(self.start_keys, prefix)
        first = self.start_pos[lo:hi]
        lo, hi = self._range(self.inner_keys, prefix)
        return first, self.inner_pos[lo:hi]

    def descendants(self, codes: set[str]) -> set[int]:
        """Positions of the regions of this level inside any of `codes`."""
        found: set[int] = set()
        for code in codes:
            if code[:2] in codes and len(code) > 2 or code[:4] in codes and len(code) > 4:
                continue  # inside another code of the set already
            found.update(range(bisect_left(self.codes, code), bisect_left(self.codes, code + ":")))
        return found

    def ancestors(self, prefix: str) -> set[str]:
        """Codes of regions above this level with a word starting with `prefix`."""
        lo, hi = self._range(self.above_keys, prefix)
        return set(self.above_codes[lo:hi])


class RegionTree:
    """An immutable edition of the region list: look-ups, children, labels and search."""

    def __init__(self, names: Mapping[str, str], edition: str = "", source: str = "") -> None:
        """Build from {code: name}; codes that are malformed or lack a parent are skipped."""
        self.edition = edition
        self.source = source
        self._names: dict[str, str] = {}
        self._children: dict[str | None, list[str]] = {}
        self.skipped = 0
        for code in sorted(names, key=lambda c: (len(c), c)):
            length = len(code) if isinstance(code, str) else 0
            parent = code[: 6 if length == 10 else length - 2] if length > 2 else None
            name = str(names[code]).strip()
            if (
                length not in LEVEL_OF_LENGTH
                or not code.isdigit()
                or not code.isascii()
                or not name
                or (parent is not None and parent not in self._names)
            ):
                self.skipped += 1
                continue
            self._names[code] = name
            self._children.setdefault(parent, []).append(code)
        self._display = {code: self._display_name(code, name) for code, name in self._names.items()}
        self._words = {code: fold(name) for code, name in self._display.items()}
        for kids in self._children.values():  # "Sengon 2" before "Sengon 10"
            kids.sort(key=lambda c: (_natural(self._words[c]), c))
        self._by_level = {
            level: tuple(sorted(c for c in self._names if len(c) == length))
            for level, length in CODE_LENGTHS.items()
        }
        self._indexes: dict[int, _LevelIndex] = {}

    @staticmethod
    def _display_name(code: str, name: str) -> str:
        name = _title(" ".join(name.split()))
        return split_regency(name)[1] if len(code) == 4 else name

    def __repr__(self) -> str:
        """The names, so a failing property test shows its tree."""
        return f"RegionTree({self._names!r})"

    # -- look-ups ------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of regions of every level."""
        return len(self._names)

    def __contains__(self, code: object) -> bool:
        """True when `code` is a region of this edition."""
        return isinstance(code, str) and code in self._names

    def counts(self) -> dict[int, int]:
        """Number of regions per level."""
        return {level: len(codes) for level, codes in self._by_level.items()}

    def codes_at(self, level: int) -> tuple[str, ...]:
        """Every code of `level`, sorted."""
        return self._by_level.get(level, ())

    def words(self, code: str) -> list[str]:
        """The folded words of a region's name (what search matches)."""
        return self._words.get(code, [])

    def raw_name(self, code: str) -> str:
        """The name as the edition writes it ("KABUPATEN JOMBANG"); "" when unknown."""
        return self._names.get(code, "")

    def name(self, code: str) -> str:
        """The name people read ("Jombang" for "KABUPATEN JOMBANG"); "" when unknown."""
        return self._display.get(code, "")

    def label(self, code: str) -> str:
        """The name with its kind: "Prov. Jawa Timur", "Kab. Jombang", "Kec. Diwek", "Desa X"."""
        name = self._display.get(code)
        if name is None:
            return ""
        if len(code) == 2:
            return f"Prov. {name}"
        if len(code) == 4:
            return f"{split_regency(_title(self._names[code]))[0]} {name}"
        if len(code) == 6:
            return f"Kec. {name}"
        return f"{'Kel.' if code[6] == '1' else 'Desa'} {name}"

    def lineage(self, code: str) -> list[str]:
        """The code and its ancestors, from the code up to its province."""
        chain = []
        current: str | None = code
        while current is not None and current in self._names:
            chain.append(current)
            current = parent_of(current)
        return chain

    def describe(self, code: str) -> str:
        """The full place: "Desa Cukir, Kec. Diwek, Kab. Jombang, Prov. Jawa Timur"."""
        return ", ".join(self.label(c) for c in self.lineage(code))

    def context(self, code: str) -> str:
        """Where a region lies: its ancestors' labels ("Kec. Diwek, Kab. Jombang, ...")."""
        return ", ".join(self.label(c) for c in self.lineage(code)[1:])

    def children(self, code: str | None = None) -> tuple[str, ...]:
        """Codes one level below `code` (None: the provinces), sorted by name."""
        return tuple(self._children.get(code, ()))

    # -- search -------------------------------------------------------------------------------
    def index(self, level: int) -> _LevelIndex:
        """The search index of `level` (built on first use, then kept)."""
        found = self._indexes.get(level)
        if found is None:
            found = self._indexes[level] = _LevelIndex(self, level)
        return found

    def search(self, query: str, level: int = 4, limit: int = 30) -> SearchResult:
        """Regions of `level` matching `query`, best first (see the module docstring)."""
        words = fold(query)
        if not words or level not in CODE_LENGTHS:
            return SearchResult((), 0)
        digits = "".join(words)
        if digits.isdigit():
            codes = self.codes_at(level)
            lo, hi = bisect_left(codes, digits), bisect_left(codes, digits + ":")
            return SearchResult(codes[lo : lo + limit], hi - lo)
        index = self.index(level)
        ranked: dict[int, None] = {}  # insertion-ordered set of positions
        first, inner = index.name_matches("".join(words))
        total = set(first)
        total.update(inner)
        for group in (first, inner):
            for pos in group:
                if len(ranked) >= limit:
                    break
                ranked.setdefault(pos)
        places: dict[str, set[str]] = {}  # context word -> codes of the places it names
        for split in range(len(words) - 1, 0, -1):
            matched = self._with_context(index, words[:split], words[split:], places)
            total.update(matched)
            for pos in matched:
                if len(ranked) >= limit:
                    break
                ranked.setdefault(pos)
        return SearchResult(tuple(index.codes[p] for p in ranked), len(total))

    @staticmethod
    def _with_context(
        index: _LevelIndex, name: list[str], where: list[str], places: dict[str, set[str]]
    ) -> list[int]:
        """Positions whose name matches `name` and whose ancestors match every `where` word."""
        wanted = []
        for word in where:
            found = places.get(word)
            if found is None:
                found = places[word] = index.ancestors(word)
            if not found:
                return []
            wanted.append(found)
        first, inner = index.name_matches("".join(name))
        candidates = _unique(first + inner)
        if len(candidates) > _MANY:  # a short name: intersect position sets at C speed instead
            allowed = set(candidates)
            for found in wanted:
                allowed &= index.descendants(found)
            return [pos for pos in candidates if pos in allowed]
        codes = index.codes
        matched = []
        for pos in candidates:
            code = codes[pos]
            up = (code[:2], code[:4], code[:6])
            if all(up[0] in s or up[1] in s or up[2] in s for s in wanted):
                matched.append(pos)
        return matched


def _natural(words: list[str]) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(w), "") if w.isdigit() else (1, 0, w) for w in words)


def _unique(items: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(items))


def tree_from_payload(payload: Mapping[str, object], source: str = "") -> RegionTree:
    """Build a tree from the central server's download ({"edition", "regions": [[code, name]]})."""
    rows = payload.get("regions")
    if not isinstance(rows, list):
        raise ValueError("region payload without a 'regions' list")
    names: dict[str, str] = {}
    for row in rows:
        if isinstance(row, list) and len(row) == 2 and all(isinstance(x, str) for x in row):
            names[row[0]] = row[1]
    if not names:
        raise ValueError("region payload with no region")
    return RegionTree(names, edition=str(payload.get("edition", "")), source=source)
