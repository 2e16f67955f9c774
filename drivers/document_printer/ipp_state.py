"""IPP printer-state-reasons turned into health states and the device errors the services know."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from drivers.errors import DeviceError, DoorOpen, PaperJam, PaperOut, PrinterOffline

_SUFFIXES = ("-error", "-warning", "-report")

# Base keyword -> (health state, error raised when it blocks a job). Order = precedence.
BLOCKING: dict[str, tuple[str, type[DeviceError]]] = {
    "offline": ("offline", PrinterOffline),
    "shutdown": ("offline", PrinterOffline),
    "media-jam": ("jammed", PaperJam),
    "door-open": ("door_open", DoorOpen),
    "cover-open": ("door_open", DoorOpen),
    "interlock-open": ("door_open", DoorOpen),
    "media-empty": ("paper_out", PaperOut),
    "media-needed": ("paper_out", PaperOut),
    "input-tray-missing": ("paper_out", PaperOut),
}


@dataclass(frozen=True)
class Reason:
    """One printer-state-reasons value split into keyword and severity."""

    keyword: str
    severity: str  # "error" (no suffix or -error), "warning" or "report"

    @classmethod
    def parse(cls, raw: str) -> Reason:
        """Split 'media-empty-warning' into ('media-empty', 'warning')."""
        for suffix in _SUFFIXES:
            if raw.endswith(suffix):
                return cls(raw[: -len(suffix)], suffix[1:])
        return cls(raw, "error")


def parse_reasons(raw: Iterable[str] | str | None) -> list[Reason]:
    """Parse a printer-state-reasons attribute (list or single string); 'none' is dropped."""
    if raw is None:
        return []
    values = [raw] if isinstance(raw, str) else list(raw)
    return [Reason.parse(v) for v in values if v and v != "none"]


def blocking(reasons: Iterable[Reason], *, errors_only: bool = False) -> Reason | None:
    """The most important reason that stops printing (optionally only error-severity ones)."""
    found = [r for r in reasons if r.keyword in BLOCKING]
    if errors_only:
        found = [r for r in found if r.severity == "error"]
    order = list(BLOCKING)
    return min(found, key=lambda r: order.index(r.keyword), default=None)


def health_state(reasons: Iterable[Reason]) -> str:
    """online, offline, jammed, door_open or paper_out for the health report."""
    worst = blocking(reasons)
    return BLOCKING[worst.keyword][0] if worst else "online"


def error_for(reason: Reason, detail: str) -> DeviceError:
    """The typed device error for a blocking reason, with a technician-facing detail."""
    return BLOCKING[reason.keyword][1](f"{detail} (printer-state-reasons: {reason.keyword})")
