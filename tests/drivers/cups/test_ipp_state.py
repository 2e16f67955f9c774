"""printer-state-reasons keywords mapped to health states and typed errors."""

from __future__ import annotations

import pytest

from drivers.document_printer.ipp_state import (
    Reason,
    blocking,
    error_for,
    health_state,
    parse_reasons,
)
from drivers.errors import DoorOpen, PaperJam, PaperOut, PrinterOffline


@pytest.mark.parametrize(
    ("raw", "state", "error"),
    [
        (["media-empty-error"], "paper_out", PaperOut),
        (["media-needed-warning", "media-empty-warning"], "paper_out", PaperOut),
        (["media-jam"], "jammed", PaperJam),
        (["door-open-report"], "door_open", DoorOpen),
        (["cover-open-warning"], "door_open", DoorOpen),
        (["offline-report"], "offline", PrinterOffline),
        (["media-empty-error", "offline-report"], "offline", PrinterOffline),
    ],
)
def test_blocking_reasons(raw: list[str], state: str, error: type) -> None:
    reasons = parse_reasons(raw)
    assert health_state(reasons) == state
    worst = blocking(reasons)
    assert worst is not None
    mapped = error_for(worst, "job 3")
    assert type(mapped) is error and worst.keyword in str(mapped)
    assert mapped.citizen_message("id") and mapped.citizen_message("en")


@pytest.mark.parametrize("raw", [None, "none", ["none"], ["toner-low-report", "cups-waiting"]])
def test_harmless_reasons_mean_online(raw: object) -> None:
    assert health_state(parse_reasons(raw)) == "online"  # type: ignore[arg-type]


def test_severity_is_parsed_and_errors_only_filters() -> None:
    assert Reason.parse("media-jam-warning") == Reason("media-jam", "warning")
    assert Reason.parse("media-jam") == Reason("media-jam", "error")
    stale = parse_reasons(["media-empty-report"])
    assert blocking(stale) is not None
    assert blocking(stale, errors_only=True) is None
