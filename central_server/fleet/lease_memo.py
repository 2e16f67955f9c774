"""What the heartbeat writer last stored of each kiosk's slot lease usage, so unchanged reports
skip the database (PostgreSQL path; central_server.lease_reports says what a report means).

Every heartbeat names every lease its kiosk holds (a hundred or so: six services, the windows of
two weeks), and the counts rarely change. A report is sent to the database only when it can
change something there: a count other than the one stored, the first report after the lease's
booking time (it makes the count final), or a kiosk's leases unnamed and past their booking
time (`LEASE_SQL` settles them), which can only happen once the next booking time ahead passes.

The memo is per process and other writers exist (other app servers, two batches of one kiosk in
flight, a renewal moving a booking time on): an entry is trusted for `TRUST` on the lease
clock at most, then the report goes to the database again. So a stale entry delays a write by
minutes at worst, long before any lease's expiry (its booking time plus hours) reclaims places.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

TRUST = timedelta(minutes=10)

# per lease: (count stored, book_until or None if no such lease of the kiosk, stored at)
_Lease = tuple[int, datetime | None, datetime]


class LeaseMemo:
    """Per kiosk: when its unnamed leases were last looked at and the next booking time then
    ahead; per lease the count stored, its booking time and when."""

    def __init__(self, trust: timedelta = TRUST) -> None:
        self.trust = trust
        self._kiosks: dict[str, tuple[datetime, datetime | None]] = {}
        self._leases: dict[str, dict[str, _Lease]] = {}

    def _fresh(self, since: datetime, at: datetime) -> bool:
        return since <= at < since + self.trust

    def due(
        self, usage: Mapping[str, Mapping[str, int]], at: datetime
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Of the reports at `at` (kiosk -> lease -> used), the named leases the database must
        see and the kiosks whose unnamed leases must be looked at (with all their leases)."""
        named: list[dict[str, Any]] = []
        kiosks: list[str] = []
        for kiosk_id, leases in usage.items():
            checked = self._kiosks.get(kiosk_id)
            if checked is None or not (
                self._fresh(checked[0], at) and (checked[1] is None or at <= checked[1])
            ):
                kiosks.append(kiosk_id)
                named += [{"kid": kiosk_id, "lid": lid, "n": n} for lid, n in leases.items()]
                continue
            stored = self._leases.get(kiosk_id, {})
            for lid, n in leases.items():
                entry = stored.get(lid)
                if entry is None or not self._settled(entry, n, at):
                    named.append({"kid": kiosk_id, "lid": lid, "n": n})
        return named, kiosks

    def _settled(self, entry: _Lease, n: int, at: datetime) -> bool:
        """The database holds this count, final if `at` is past the booking time."""
        used, book_until, since = entry
        return (
            used == n
            and self._fresh(since, at)
            and (book_until is None or at <= book_until or since > book_until)
        )

    def learn(
        self,
        rows: Iterable[tuple[Any, ...]],
        named: list[dict[str, Any]],
        kiosks: list[str],
        at: datetime,
    ) -> None:
        """Remember what `LEASE_SQL` stored at `at` for `named` and `kiosks` (its `rows`)."""
        for kiosk_id in kiosks:
            self._leases[kiosk_id] = {}  # leases it no longer names are forgotten
        found: dict[tuple[str, str], datetime] = {}
        for kiosk_id, lid, when in rows:
            if lid is None:
                self._kiosks[kiosk_id] = (at, when)
            else:
                found[(kiosk_id, lid)] = when
        for row in named:
            kiosk_id, lid = row["kid"], row["lid"]
            self._leases.setdefault(kiosk_id, {})[lid] = (row["n"], found.get((kiosk_id, lid)), at)
