"""A fleet of kiosks through a central-server outage, end to end with real processes: every kiosk
its own process, the server (a real process behind the fault proxy) partitioned away and
killed for a day of random bookings, one kiosk SIGKILLed mid-visit and restarted on its data
dir, then the server comes back (and that kiosk is killed again after the server took its
bookings but before it heard so). The quota is never exceeded, no booking is lost or doubled
(the killed kiosk's too), every offline ticket's seal verifies on the server's public page,
and a forged one does not."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central.postgres import TemporaryPostgres, find_binary
from tests.services.leases.outage_rig import (
    forge,
    ledger,
    outage_fleet,
    over_quota_now,
    pending,
    renew,
    run_visits,
    seal_status,
    seal_verdict,
)

KIOSKS = 4
ONLINE_VISITS = 2  # per kiosk, before the outage
OFFLINE_VISITS = 6  # per kiosk, during it
DAILY_QUOTA = 12  # six a window: the leases of four kiosks press against it
KILLED = 1  # this kiosk is SIGKILLed mid-visit during the outage and restarted
DEADLINE_S = 180.0  # for the leases at the start and the outboxes to drain: a busy CI machine


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The central server's database: a SQLite file, or a throw-away PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'central.db'}"
        return
    if not (find_binary("initdb") and find_binary("pg_ctl")):
        pytest.skip("PostgreSQL server not installed (apt: postgresql-15)")
    with TemporaryPostgres() as cluster:
        yield cluster.url(cluster.create_database())


@pytest.mark.parametrize("seed", [16])
def test_a_fleet_serves_through_an_outage_and_reconciles_exactly_once(
    tmp_path: Path, database: str, seed: int
) -> None:
    db = database
    with outage_fleet(tmp_path, db, DAILY_QUOTA, KIOSKS, DEADLINE_S) as scene:
        fleet = scene.fleet
        run_visits(fleet, ONLINE_VISITS, seed)  # online: the server books, the QR is sealed
        online = [b for k in fleet for b in k.bookings]
        assert len(online) == KIOSKS * ONLINE_VISITS
        # The server booked them; one it answered too slowly for the kiosk's 3 s try (a busy
        # machine) is queued and sent later with an offline ticket, and checked the same.
        assert any(not b.offline for b in online)
        assert all(renew(fleet))  # with the use just seen, as the keeper does every round
        assert over_quota_now(db) == 0  # leased plus booked within every slot's quota

        scene.cut()  # the network is cut and the server process dies
        run_visits(fleet, OFFLINE_VISITS, seed + 1, kill=[KILLED], kill_after=2)
        assert fleet[KILLED].restarts == 1
        outage = [b for k in fleet for b in k.bookings if b not in online]
        offline = [b for k in fleet for b in k.bookings if b.offline]
        assert sum(k.turned_away for k in fleet) == 0  # every citizen left with a ticket
        assert len(outage) == KIOSKS * OFFLINE_VISITS
        assert len([b for b in fleet[KILLED].bookings if b in outage]) == OFFLINE_VISITS
        assert all(b.offline and b.local_reference.startswith("LOK-") for b in outage)
        # the visit the kill cut short may have queued its row before the ticket
        assert len(outage) <= pending(fleet) <= len(offline) + 1
        assert over_quota_now(db) == 0
        assert [k.failed for k in fleet] == [[]] * KIOSKS

        # Back, as a new process on the same data. The kiosk killed before loses the server's
        # answers until the server took some of its offline bookings, and is killed again:
        # restarted, it sends them again, and each must still be there once.
        scene.restore(DEADLINE_S, kill=[KILLED])
        assert fleet[KILLED].restarts == 2
        server = scene.server

        found = ledger(db, fleet, DAILY_QUOTA)
        assert found.offline == len(offline) > 0
        assert (found.overbooked, found.lost, found.duplicates) == (0, 0, 0)
        assert found.unticketed <= 1  # at most the visit cut short by the kill
        for booking in offline:  # genuine, and vouching for the application that arrived
            verdict = seal_verdict(server.base_url, booking.qr)
            assert verdict["status"] == "valid", booking
            assert verdict["claims"]["reference"] == booking.local_reference
            assert verdict["application"] is not None, booking
        for booking in online:  # online tickets are sealed too (the registration number)
            assert seal_status(server.base_url, booking.qr) == "valid", booking
        forged = forge(random.Random(seed).choice(offline).qr)
        assert seal_status(server.base_url, forged) == "bad_signature"
