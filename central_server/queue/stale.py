"""Queue places left open by the code before an application decided on its page ended its
citizen's place (queue.counters.end_place): a citizen still waiting, called to a counter or set
aside whose application was already verified or rejected (or moved on since). Ended here as
end_place ends them: the arrival done, one "finish" queue event with the deciding officer, the
decision ("verify/reject di halaman permohonan: <label>") and the counter that had called them,
so the displays, the counters' list and today's figures agree; the counter is free again.

Run by migration 0018 and again at every server start (central_server.db.Database.create_all:
a SQLite file has no migrations, and during a rolling upgrade an app server still on the older
code may leave more such places after the migration ran); idempotent: a second run finds
nothing. Written against the tables as they are at revision 0017 (Core, not the ORM models,
which may gain columns later). The start-up run reads only the open places, through the
partial index of migration 0021 (ix_arrivals_open), not every arrival ever recorded: it runs
under the migration lock on PostgreSQL, so app servers starting together wait for it in turn
(migration 0018 itself runs before that index exists and reads the table, once). Whether a
display needs waking: a display reads the whole state when it (re)connects, so a restarted
server's displays show the change anyway; the NOTIFY at commit reaches the displays of app
servers that keep running (PostgreSQL).
"""

from __future__ import annotations

import logging
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from central_server.settings import now_wib

log = logging.getLogger("central_server.queue")

CHANNEL = "anjungan_queue"  # queue.core.CHANNEL, named here as at revision 0017
OPEN_STATES = ("waiting", "called", "no_show")
LABELS = {"verify": "Terverifikasi", "reject": "Ditolak"}  # lifecycle.STATE_LABELS of each
ACTOR = "sistem"  # when no decision is found in the application's history
NOTE_SUFFIX = "; ditutup saat pembaruan server"


def _table(name: str, *columns: str) -> sa.TableClause:
    """A table as this module reads and writes it (a day is a date on SQLite too)."""
    return sa.table(name, *(sa.column(c, sa.Date() if c == "day" else None) for c in columns))


arrivals = _table(
    "arrivals", "application_id", "office_code", "day", "state", "counter_id", "arrived_at",
    "called_at", "finished_at",
)  # fmt: skip
applications = _table("applications", "id", "status", "queue_number")
counters = _table("queue_counters", "id", "number")
application_events = _table(
    "application_events", "id", "application_id", "action", "from_status", "to_status", "actor",
    "at",
)  # fmt: skip
queue_events = _table(
    "queue_events", "office_code", "day", "kind", "application_id", "calling_number",
    "counter_number", "actor", "note", "at",
)  # fmt: skip


# The places not done, as the partial index ix_arrivals_open (migration 0021) is written:
# PostgreSQL and SQLite then read that index alone, not every arrival ever recorded (on SQLite
# only a term as the index's own is matched).
open_place = sa.or_(*(arrivals.c.state == state for state in OPEN_STATES))


def end_decided_places(connection: Connection) -> int:
    """End every open place whose application no longer awaits verification; how many. On
    PostgreSQL the places are locked (arrivals, in the counters' order: the place before
    anything of its application) and each office's displays are woken by NOTIFY at commit,
    so app servers still running during an upgrade show the change at once."""
    stale = (
        sa.select(
            arrivals.c.application_id,
            arrivals.c.office_code,
            arrivals.c.day,
            arrivals.c.state,
            arrivals.c.counter_id,
            arrivals.c.arrived_at,
            arrivals.c.called_at,
            applications.c.queue_number,
        )
        .join(applications, applications.c.id == arrivals.c.application_id)
        .where(open_place, applications.c.status != "approved")
    )
    if connection.dialect.name == "postgresql":  # locked in the places' order
        stale = stale.order_by(arrivals.c.application_id).with_for_update(of=arrivals)
    # Sorted here on SQLite (serial, no row locks): an ORDER BY makes SQLite scan the whole
    # table for its order, without ANALYZE's figures, rather than read the index.
    rows = sorted(connection.execute(stale).all(), key=lambda row: row.application_id)
    ended: Counter[str] = Counter()
    for row in rows:
        decision = connection.execute(
            sa.select(application_events.c.action, application_events.c.actor,
                      application_events.c.at)
            .where(
                application_events.c.application_id == row.application_id,
                application_events.c.from_status == "approved",
                application_events.c.to_status != "approved",  # not the arrival
            )
            .order_by(application_events.c.id.desc())
            .limit(1)
        ).first()  # fmt: skip
        counter_number = None
        if row.state == "called" and row.counter_id is not None:
            counter_number = connection.scalar(
                sa.select(counters.c.number).where(counters.c.id == row.counter_id)
            )
        if decision is None:
            actor, note, at = ACTOR, "diputuskan di luar loket", now_wib()
        else:
            label = LABELS.get(decision.action, decision.action)
            actor, at = decision.actor, decision.at
            note = f"{decision.action} di halaman permohonan: {label}"
        # Never before the citizen came or was called (a decided citizen called again later).
        at = max(t for t in (at, row.arrived_at, row.called_at) if t)
        connection.execute(
            arrivals.update()
            .where(arrivals.c.application_id == row.application_id)
            .values(state="done", finished_at=at)
        )
        connection.execute(
            queue_events.insert().values(
                office_code=row.office_code,
                day=row.day,
                kind="finish",
                application_id=row.application_id,
                calling_number=row.queue_number,
                counter_number=counter_number,
                actor=actor[:64],
                note=(note + NOTE_SUFFIX)[:200],
                at=at,
            )
        )
        ended[row.office_code] += 1
    for office_code, count in sorted(ended.items()):
        log.warning(
            "queue %s: %d place(s) of applications already verified or rejected ended",
            office_code,
            count,
        )
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": office_code}
            )
    return sum(ended.values())
