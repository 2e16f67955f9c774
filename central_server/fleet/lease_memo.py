"""What the heartbeat writer last stored of each kiosk's slot lease usage, so unchanged reports
skip the database (PostgreSQL path; central_server.lease_reports says what a report means).

Every heartbeat names every lease its kiosk holds (a hundred or so: six services, the windows of
two weeks), and the counts rarely change. A kiosk's report goes to the database (`LEASE_SQL`,
all of it) only when it can change something there: a count differs from the report stored, or
one of the kiosk's booking times has passed since (a lease named then needs its final report,
one unnamed is settled). The statement answers the kiosk's next booking time still ahead; until
then the same report changes nothing, and is answered from this memo by a dict comparison.

The memo is per process and other writers exist (other app servers, two batches of one kiosk in
flight, a grant or renewal moving booking times): an entry is trusted for `TRUST` on the lease
clock at most, then the report goes to the database again. So a stale entry delays a write by
minutes at worst, long before any lease's expiry (its booking time plus hours) reclaims places.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

TRUST = timedelta(minutes=30)


class LeaseMemo:
    """Per kiosk: the report last stored, when, and its next booking time then still ahead."""

    def __init__(self, trust: timedelta = TRUST) -> None:
        self.trust = trust
        self._stored: dict[str, tuple[Mapping[str, int], datetime, datetime | None]] = {}

    def due(self, usage: Mapping[str, Mapping[str, int]], at: datetime) -> list[str]:
        """The kiosks whose report at `at` (kiosk -> lease -> used) the database must see."""
        due = []
        for kiosk_id, leases in usage.items():
            stored = self._stored.get(kiosk_id)
            if stored is None:
                due.append(kiosk_id)
                continue
            report, since, next_until = stored
            if not (
                since <= at < since + self.trust
                and (next_until is None or at <= next_until)
                and report == leases
            ):
                due.append(kiosk_id)
        return due

    def learn(
        self,
        rows: Iterable[tuple[Any, ...]],
        usage: Mapping[str, Mapping[str, int]],
        at: datetime,
    ) -> None:
        """Remember the reports `LEASE_SQL` stored at `at` (its rows: kiosk, next booking time)."""
        for kiosk_id, next_until in rows:
            self._stored[kiosk_id] = (usage[kiosk_id], at, next_until)
