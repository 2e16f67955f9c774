"""The application timeline in plain words, for every lifecycle state."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central_server.lifecycle import TRANSITIONS, State
from kiosk_app.domain.ticket import Slot
from kiosk_app.domain.timeline import (
    BRING_KTP,
    BY_POS,
    HAPPENED,
    NEXT,
    PRINT_HERE,
    UPDATED,
    ApplicationRecord,
    Happened,
    IssuedCopy,
    timeline,
)

SLOT = Slot(date(2026, 11, 23), "08.00-11.00")


def record(status: str, *actions: str, **extra: object) -> ApplicationRecord:
    """An akta kelahiran application in `status` after `actions`."""
    events = tuple(Happened(a, f"2026-11-2{i}T10:1{i}:00+07:00") for i, a in enumerate(actions))
    return ApplicationRecord(
        "AKTA-35.17.191126.0001",
        "akta_kelahiran",
        status,
        "A-001",
        SLOT,
        "2026-11-19T09:00:00+07:00",
        events,
        **extra,
    )  # type: ignore[arg-type]


def issued(**kw: object) -> IssuedCopy:
    """An issued document, ready to print unless told otherwise."""
    values: dict[str, object] = {
        "document_number": "3517-LU-23112026-0001",
        "print_state": "ready",
        "print_code": "ACEF-HJ34",
        "printed_at": None,
        "delivery": False,
    } | kw
    return IssuedCopy(**values)  # type: ignore[arg-type]


def test_every_action_and_state_of_the_lifecycle_has_words() -> None:
    assert set(TRANSITIONS) | {"arrive"} <= set(HAPPENED)
    for state in State:
        if state is not State.document_ready:
            assert state.value in NEXT, state


def test_approved_says_when_and_what_to_bring() -> None:
    line = timeline(record("approved", "review", "approve"))
    assert [s.what for s in line.steps] == [
        HAPPENED["submitted"],
        HAPPENED["review"],
        HAPPENED["approve"],
    ]
    assert line.steps[1].when.id == "Jumat, 20 November 2026 pukul 10.10"
    assert line.when is not None
    assert line.when.id == "Senin, 23 November 2026, pukul 08.00-11.00 WIB, nomor antrean A-001"
    assert line.when.en.startswith("Monday, 23 November 2026, at 08.00-11.00 WIB")
    assert line.bring[0] == BRING_KTP
    assert any("Surat keterangan lahir" in b.id for b in line.bring)
    assert line.print_code is None and not line.printable


def test_ready_document_can_be_printed_with_its_code() -> None:
    line = timeline(record("document_ready", "approve", "verify", "issue", document=issued()))
    assert line.next == PRINT_HERE and line.printable and line.print_code == "ACEF-HJ34"
    assert "3517-LU-23112026-0001" in line.steps[-1].what.id
    assert line.when is None and line.bring == (BRING_KTP,)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (issued(delivery=True), BY_POS.id),
        (
            issued(print_state="printed", print_code=None, printed_at="2026-11-24T09:05:00+07:00"),
            "Selasa, 24 November 2026 pukul 09.05",
        ),
        (issued(print_state="revoked", print_code=None), "dibatalkan"),
        (issued(print_state="not_printable", print_code=None), "kantor Disdukcapil"),
    ],
)
def test_a_document_that_cannot_be_printed_says_why(document: IssuedCopy, expected: str) -> None:
    line = timeline(record("document_ready", "issue", document=document))
    assert expected in line.next.id and not line.printable and line.print_code is None


def test_the_submit_event_replaces_the_creation_time() -> None:
    line = timeline(record("submitted", "submit", "mystery"))
    assert [s.what for s in line.steps] == [HAPPENED["submit"], UPDATED]
    assert line.steps[0].when.id == "Jumat, 20 November 2026 pukul 10.10"


def test_fix_notes_and_rejection_reasons_are_told() -> None:
    fix = timeline(record("needs_fixing", "ask_fix", fix_notes=(("nama_ayah", "ejaan salah"),)))
    assert "nama_ayah: ejaan salah" in fix.steps[-1].what.id and "loket" in fix.next.id
    rejected = timeline(record("rejected", "reject", reason="Data ganda"))
    assert rejected.steps[-1].what.id == "Permohonan ditolak: Data ganda."
    assert rejected.when is None and rejected.bring == ()


@given(
    status=st.sampled_from([s.value for s in State] + ["in_process", "completed"]),
    actions=st.lists(st.sampled_from(sorted(HAPPENED) + ["unknown_action"]), max_size=6),
    at=st.text(max_size=30),
)
def test_any_record_gives_filled_sentences_in_both_languages(
    status: str, actions: list[str], at: str
) -> None:
    events = tuple(Happened(a, at) for a in actions)
    line = timeline(
        ApplicationRecord(
            "X", "akta_kelahiran", status, "A-001", SLOT, at, events, document=issued()
        )
    )
    texts = [line.next, *line.bring, *(s.what for s in line.steps)]
    texts += [line.when] if line.when else []
    for text in texts:
        assert text.id and text.en
        assert not re.search(r"\{[a-z]+\}", text.id + text.en)  # no placeholder left unfilled
    assert len(line.steps) == len(actions) + (0 if "submit" in actions else 1)
