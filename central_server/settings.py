"""Settings both sides share: the default offices, database URL and the server's clock (WIB).

Standard library only, so the kiosk, the tests and every server module import it at the top.
"""

from datetime import date, datetime, timedelta, timezone

DEFAULT_DATABASE_URL = "sqlite:///./var/central.db"
# (office code, official name): the offices a new database starts with
DEFAULT_OFFICES: tuple[tuple[str, str], ...] = (
    ("3517", "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Jombang"),
)
WIB = timezone(timedelta(hours=7), "WIB")


def now_wib() -> str:
    """Current time in WIB, ISO 8601 to the second."""
    return datetime.now(WIB).isoformat(timespec="seconds")


def today_wib() -> date:
    """Today's date in WIB (the calendar of slots and registration numbers)."""
    return datetime.now(WIB).date()
