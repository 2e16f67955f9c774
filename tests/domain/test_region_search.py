"""Region tree and search-as-you-type: labels, properties against a brute-force reference."""

from __future__ import annotations

import csv
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk_app.domain.region_search import RegionTree, fold, parent_of, tree_from_payload
from kiosk_app.domain.regions import sample_regions
from tests.region_editions import FULL_EDITION

WORD = st.text(alphabet="abkAK'-", min_size=1, max_size=4).filter(lambda w: fold(w))
NAME = st.lists(WORD, min_size=1, max_size=3).map(" ".join)
ONE_WORD = st.text(alphabet="abkAK'", min_size=1, max_size=4).filter(lambda w: fold(w))


@st.composite
def trees(draw: st.DrawFn) -> RegionTree:
    """A random tree: 1-2 provinces, each level 1-3 children, names from a tiny alphabet."""
    names: dict[str, str] = {}
    for p in range(draw(st.integers(1, 2))):
        prov = f"{11 + p}"
        names[prov] = draw(NAME).upper()
        for r in range(draw(st.integers(1, 3))):
            reg = f"{prov}{r + 1:02d}"
            names[reg] = draw(st.sampled_from(["KABUPATEN ", "KOTA "])) + draw(NAME).upper()
            for d in range(draw(st.integers(1, 2))):
                dis = f"{reg}{d + 1:02d}"
                names[dis] = draw(NAME)
                for v in range(draw(st.integers(1, 3))):
                    names[f"{dis}{draw(st.sampled_from('12'))}{v + 1:03d}"] = draw(NAME)
    return RegionTree(names)


def _suffixes(words: list[str]) -> list[str]:
    return ["".join(words[i:]) for i in range(len(words))]


def _name_rank(tree: RegionTree, code: str, query: str) -> int | None:
    """Brute force: 0 exact, 1 name starts with the query, 2 a later word does, None: no match."""
    keys = _suffixes(tree.words(code))
    if len(code) == 4:
        keys.append("".join(fold(tree.raw_name(code))))
    if keys[0] == query:
        return 0
    if keys[0].startswith(query):
        return 1
    return 2 if any(k.startswith(query) for k in keys[1:]) else None


@given(trees(), ONE_WORD, st.integers(1, 4))
@settings(max_examples=60, deadline=None)
def test_one_word_finds_exactly_the_brute_force_matches_ranked(
    tree: RegionTree, word: str, level: int
) -> None:
    query = "".join(fold(word))
    result = tree.search(word, level=level, limit=10_000)
    expected = {c for c in tree.codes_at(level) if _name_rank(tree, c, query) is not None}
    assert set(result.codes) == expected and result.total == len(expected)
    ranks = [_name_rank(tree, c, query) for c in result.codes]
    assert ranks == sorted(ranks)  # exact, then prefix, then later words
    assert tree.search(f"  {word.upper()}  ", level=level, limit=10_000) == result
    assert tree.search(word, level=level, limit=2).codes == result.codes[:2]


@given(trees(), st.lists(WORD, min_size=2, max_size=3))
@settings(max_examples=60, deadline=None)
def test_more_words_narrow_by_name_or_place(tree: RegionTree, words: list[str]) -> None:
    result = tree.search(" ".join(words), limit=10_000)
    folded = fold(" ".join(words))  # "a-b" is two words to search too
    for code in result.codes:
        places = [k for up in tree.lineage(code)[1:] for k in _suffixes(fold(tree.raw_name(up)))]
        assert any(
            _name_rank(tree, code, "".join(folded[:k])) is not None
            and all(any(p.startswith(w) for p in places) for w in folded[k:])
            for k in range(1, len(folded) + 1)
        ), tree.describe(code)
    whole = {c for c in tree.codes_at(4) if _name_rank(tree, c, "".join(folded)) is not None}
    assert whole <= set(result.codes)  # typing the spaces differently still finds the name


def test_labels_and_lineage_of_the_builtin_sample() -> None:
    tree = RegionTree(sample_regions())
    assert tree.skipped == 0 and tree.counts()[1] == 38
    assert tree.describe("3517082007") == "Desa Cukir, Kec. Diwek, Kab. Jombang, Prov. Jawa Timur"
    assert tree.describe("3517091002").startswith("Kel. Jombatan, Kec. Jombang")
    assert tree.label("3174") == "Kota Adm. Jakarta Selatan"
    assert tree.context("3174071009") == (
        "Kec. Kebayoran Baru, Kota Adm. Jakarta Selatan, Prov. DKI Jakarta"
    )
    assert [tree.name(c) for c in tree.children("351709")] == sorted(
        tree.name(c) for c in tree.children("351709")
    )
    assert tree.search("35170").codes == tuple(c for c in tree.codes_at(4) if c.startswith("35170"))
    assert tree.search("", 4).codes == () and tree.search("zzz").total == 0
    assert parent_of("3517082007") == "351708" and parent_of("35") is None


def test_bad_codes_are_skipped_and_payloads_checked() -> None:
    tree = RegionTree({"35": "JAWA TIMUR", "3517": "KABUPATEN JOMBANG", "9901": "X", "35x7": "Y"})
    assert len(tree) == 2 and tree.skipped == 2 and tree.label("3517") == "Kab. Jombang"
    assert tree_from_payload({"edition": "e1", "regions": [["35", "JAWA TIMUR"]]}).edition == "e1"
    for bad in ({}, {"regions": "x"}, {"regions": [[1, 2]]}):
        with pytest.raises(ValueError):
            tree_from_payload(bad)


@cache
def _country() -> RegionTree:
    names: dict[str, str] = {}
    for kind in ("provinces", "cities", "districts", "villages"):
        with open(FULL_EDITION / f"{kind}.csv", encoding="utf-8", newline="") as handle:
            names.update((row[0], row[-1]) for row in csv.reader(handle))
    return RegionTree(names)


@pytest.mark.skipif(not FULL_EDITION.is_dir(), reason="../shared/data/wilayah not present")
def test_the_country_sukamaju_villages_can_be_told_apart() -> None:
    tree = _country()
    assert tree.counts() == {1: 34, 2: 514, 3: 7266, 4: 83467}
    found = tree.search("sukamaju", limit=500)
    assert found.total >= 40 and len(found.codes) == found.total
    assert all(tree.name(c).replace(" ", "").lower() == "sukamaju" for c in found.codes[:40])
    described = [tree.describe(c) for c in found.codes]
    assert len(set(described)) == len(described)  # every hit names its place
    garut = tree.search("sukamaju garut", limit=500)
    assert garut.codes and all(c.startswith("3205") for c in garut.codes)
    assert tree.search("Suka Maju").codes == found.codes[:30]
    assert tree.label("3272") == "Kota Sukabupatenumi"  # as this edition spells it
