"""Remote commands whose answer is lost reach the kiosk and run there once, against the real
central server over HTTP on loopback (SQLite and PostgreSQL) and the kiosk's real health
reporter, through a fault proxy that loses the heartbeat's answer after the server committed
it, or the command's result: commands are handed out again until acknowledged, a kiosk
restarted before reporting does not run them again, a reboot handed out again never reboots
twice, and the dashboard says which state each command is in."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from fastapi import FastAPI
from sqlalchemy import delete, event, text, update

from central_server.app import create_app
from central_server.embedded import EmbeddedServer
from central_server.fleet.models import FleetCommand
from kiosk_app.central import CentralError
from kiosk_app.services.command_record import FILE_NAME
from kiosk_app.services.durable import STORAGE
from kiosk_app.services.health import HealthReporter, RecordingSystemActions
from tests.central.conftest import ADMIN_TOKEN, TODAY
from tests.central.fleet.helpers import (
    KIOSK,
    STAFF,
    KioskRig,
    Technician,
    answer,
    beat,
    command,
    enrol,
    kiosk_rig,
    kiosks,
    other_process,
    queue,
    status_on_page,
    tell,
)

HEARTBEAT = b"POST /api/v1/fleet/heartbeat"
RESULTS = b"POST /api/v1/fleet/commands/"


@pytest.fixture
def app(database_url: str) -> FastAPI:
    """The central server's app (as conftest's server runs): its database and fleet at hand."""
    return create_app(
        database_url, today=lambda: TODAY, admin_token=ADMIN_TOKEN, open_enrolment=True
    )


@pytest.fixture
def server(app: FastAPI) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(app, "127.0.0.1", 0).start() as running:
        yield running


class Killed(BaseException):
    """The kiosk app dying mid-command (SIGKILL, power cut): nothing after it runs."""


@dataclass
class Kiosk(KioskRig):
    """A kiosk whose test ticket printing can die midway; `start()` is its app (re)starting."""

    system: RecordingSystemActions = field(default_factory=RecordingSystemActions)
    printed: int = 0
    die_printing: bool = False

    def start(self) -> HealthReporter:
        return self.reporter(system=self.system, print_test_ticket=self.print_ticket)

    def print_ticket(self) -> None:
        if self.die_printing:
            raise Killed
        self.printed += 1


@pytest.fixture
def kiosk(server: EmbeddedServer, tmp_path: Path) -> Iterator[Kiosk]:
    yield from kiosk_rig(Kiosk, server, tmp_path)


def test_a_lost_answer_is_handed_out_again_and_the_command_runs_once(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    cid = queue(server, "print_test_ticket")
    kiosk.proxy.only, kiosk.proxy.mode = HEARTBEAT, "reset_after_forward"
    with pytest.raises(CentralError):  # the answer and the resent heartbeat's answer: lost
        health.beat_once()
    assert kiosk.printed == 0
    lost = command(server, cid)
    assert (lost["status"], lost.get("deliveries")) == ("sent", 2)
    assert "Dikirim, menunggu anjungan" in status_on_page(server, cid)

    kiosk.proxy.mode = "forward"
    assert [c["id"] for c in health.beat_once()] == [cid]  # handed out again
    assert kiosk.printed == 1
    done = command(server, cid)
    assert (done["status"], done["result_detail"], done.get("deliveries")) == (
        "done",
        "test ticket printed",
        3,
    )
    assert health.beat_once() == [] and kiosk.printed == 1
    assert 'data-status="done"' in status_on_page(server, cid)


def test_the_resent_heartbeat_brings_the_command_of_the_lost_answer(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    cid = queue(server, "print_test_ticket")
    kiosk.proxy.only, kiosk.proxy.mode = HEARTBEAT, "reset_after_forward_once"
    assert [c["id"] for c in health.beat_once()] == [cid]  # the client's resend got it again
    assert kiosk.printed == 1
    assert (command(server, cid)["status"], command(server, cid).get("deliveries")) == ("done", 2)


@pytest.mark.parametrize("kind", ["print_test_ticket", "reboot"])
def test_a_kiosk_restarted_before_its_report_got_through_does_not_run_it_again(
    server: EmbeddedServer, kiosk: Kiosk, kind: str
) -> None:
    health = kiosk.start()
    cid = queue(server, kind)
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"  # every result report lost
    assert [c["id"] for c in health.beat_once()] == [cid]
    ran = (kiosk.printed, kiosk.system.calls)
    assert ran == ((1, []) if kind == "print_test_ticket" else (0, ["reboot"]))
    assert command(server, cid)["status"] == "sent"
    assert health.beat_once() == []  # it names the command: not handed out again
    held = command(server, cid)
    assert (held["status"], held.get("deliveries")) == ("received", 1)
    assert "Diterima anjungan" in status_on_page(server, cid)

    again = kiosk.start()  # killed and started again (or rebooted): the same data directory
    assert again.beat_once() == []
    assert (command(server, cid)["status"], command(server, cid).get("deliveries")) == (
        "received",
        1,
    )
    kiosk.proxy.mode = "forward"
    assert again.beat_once() == []  # the result reported first, from the record
    assert (kiosk.printed, kiosk.system.calls) == ran
    done = command(server, cid)
    assert (done["status"], done.get("deliveries")) == ("done", 1)
    assert str(done["result_detail"]).startswith("test ticket printed" if ran[0] else "rebooted")


def test_a_command_interrupted_by_the_kiosk_dying_is_not_run_again(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    cid = queue(server, "print_test_ticket")
    kiosk.die_printing = True
    with pytest.raises(Killed):
        health.beat_once()
    kiosk.die_printing = False
    assert command(server, cid)["status"] == "sent"

    again = kiosk.start()
    assert again.beat_once() == [] and again.beat_once() == []
    assert kiosk.printed == 0  # not run again: half a run may have happened
    failed = command(server, cid)
    assert failed["status"] == "failed" and "interrupted" in str(failed["result_detail"])


def test_a_reboot_handed_out_again_does_not_reboot_twice(
    app: FastAPI, server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    cid = queue(server, "reboot")
    assert [c["id"] for c in health.beat_once()] == [cid]
    assert kiosk.system.calls == ["reboot"] and command(server, cid)["status"] == "sent"
    rebooted = kiosk.start()
    assert rebooted.beat_once() == []  # back after the reboot: it reports it done
    assert command(server, cid)["status"] == "done"
    # The central database restored from a backup taken before the result: the reboot is
    # unfinished there again and goes out again with the next heartbeat.
    with app.state.db.transaction() as session:
        session.execute(
            update(FleetCommand)
            .where(FleetCommand.id == cid)
            .values(status="sent", finished_at=None, result_detail=None)
        )
    assert [c["id"] for c in rebooted.beat_once()] == [cid]
    assert kiosk.system.calls == ["reboot"]  # acknowledged again, not run again
    done = command(server, cid)
    assert (done["status"], done.get("deliveries")) == ("done", 2)
    assert str(done["result_detail"]).startswith("rebooted")
    assert rebooted.beat_once() == [] and kiosk.system.calls == ["reboot"]
    # Restored from an older backup still, the reboot lost: its id goes to the next command,
    # which is another one (created later) and runs.
    with app.state.db.transaction() as session:
        session.execute(delete(FleetCommand).where(FleetCommand.id == cid))
        if app.state.db.is_postgresql:
            session.execute(text(f"ALTER SEQUENCE fleet_commands_id_seq RESTART WITH {cid}"))
    assert queue(server, "reboot") == cid
    assert [c["id"] for c in rebooted.beat_once()] == [cid]
    assert kiosk.system.calls == ["reboot", "reboot"]


def test_an_older_kiosk_gets_each_command_once_and_the_dashboard_flags_it_unacknowledged(
    app: FastAPI, server: EmbeddedServer
) -> None:
    old, new = enrol(server, "kiosk-old"), enrol(server, "kiosk-new")
    lost, held = queue(server, "upload_logs", "kiosk-old"), queue(server, "screenshot", "kiosk-new")
    assert [c["id"] for c in beat(server, old).json()["commands"]] == [lost]
    assert beat(server, old).json()["commands"] == []  # no received_commands: once, as before
    for _ in range(2):  # a kiosk naming nothing gets it again; then names it
        assert [c["id"] for c in beat(server, new, received_commands=[]).json()["commands"]] == [
            held
        ]
    assert beat(server, new, received_commands=[held]).json()["commands"] == []
    assert (command(server, held)["status"], command(server, held).get("deliveries")) == (
        "received",
        2,
    )
    assert 'data-unacknowledged="1"' not in status_on_page(server, lost, "kiosk-old")

    app.state.fleet.service.clock = lambda: datetime.now(UTC) + timedelta(minutes=11)
    row = status_on_page(server, lost, "kiosk-old")
    assert 'data-unacknowledged="1"' in row and "Belum dikonfirmasi anjungan sejak" in row
    assert "not acknowledged by the kiosk" in row
    assert command(server, lost)["unacknowledged"] is True
    page = Technician(server.base_url, ADMIN_TOKEN).page("kiosk-old")
    assert 'id="commands-unacknowledged" data-count="1"' in page
    received = status_on_page(server, held, "kiosk-new")  # acknowledged: not flagged
    assert "Diterima anjungan" in received and "data-unacknowledged" not in received
    assert "(dikirim 2 kali / sent 2 times)" in received


def test_a_record_that_cannot_be_written_runs_nothing_and_a_damaged_one_is_kept_aside(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    health.devices = {"storage": STORAGE}
    (kiosk.data_dir / f"{FILE_NAME}.tmp").mkdir()  # the disk refuses the record's new copy
    cid = queue(server, "reboot")
    assert [c["id"] for c in health.beat_once()] == [cid]
    assert kiosk.system.calls == []  # unrecorded, a second delivery could reboot again
    refused = command(server, cid)
    assert refused["status"] == "failed" and "cannot record" in str(refused["result_detail"])

    (kiosk.data_dir / f"{FILE_NAME}.tmp").rmdir()
    (kiosk.data_dir / FILE_NAME).write_bytes(b'{"commands": {"1": ')  # cut short
    again = kiosk.start()
    again.devices = {"storage": STORAGE}
    assert STORAGE.status()["state"] == "damaged" and FILE_NAME in STORAGE.status()["files"]
    assert [p.name.startswith(f"{FILE_NAME}.damaged-") for p in kiosk.data_dir.iterdir()].count(
        True
    ) == 1
    second = queue(server, "reboot")
    assert [c["id"] for c in again.beat_once()] == [second]
    assert kiosk.system.calls == ["reboot"]
    assert again.beat_once() == [] and command(server, second)["status"] == "done"
    fleet = requests.get(f"{server.base_url}/api/v1/fleet/kiosks", headers=STAFF, timeout=10)
    mine = {k["kiosk_id"]: k for k in fleet.json()}[KIOSK]
    assert "storage_fault" in mine["alerts"]


WRONG_TYPES = {  # one field of the reboot's entry as no kiosk writes it
    "detail": {"a": 1},  # every heartbeat stopped on its report (detail[:2000])
    "ok": "no",
    "created": 5,  # told apart from the reboot of that id: it rebooted again
    "state": "rebooted",
    "kind": None,
}


@pytest.mark.parametrize("field_name", WRONG_TYPES)
def test_a_record_entry_of_a_wrong_type_stops_no_heartbeat_and_runs_nothing_again(
    app: FastAPI, server: EmbeddedServer, kiosk: Kiosk, field_name: str
) -> None:
    health = kiosk.start()
    cid = queue(server, "reboot")
    assert [c["id"] for c in health.beat_once()] == [cid] and kiosk.system.calls == ["reboot"]
    path = kiosk.data_dir / FILE_NAME
    document = json.loads(path.read_bytes())
    document["commands"][str(cid)][field_name] = WRONG_TYPES[field_name]
    path.write_text(json.dumps(document))
    with app.state.db.transaction() as session:  # handed out again (a restored database)
        session.execute(
            update(FleetCommand)
            .where(FleetCommand.id == cid)
            .values(status="sent", finished_at=None, result_detail=None)
        )
    again = kiosk.start()
    assert STORAGE.status()["state"] == "damaged" and FILE_NAME in STORAGE.status()["files"]
    assert again.beat_once() == []  # held: its result goes first, the heartbeat names it
    assert kiosk.system.calls == ["reboot"]  # not rebooted twice
    reported = command(server, cid)
    assert reported["status"] == "failed" and "damaged" in str(reported["result_detail"])
    second = queue(server, "print_test_ticket")
    assert [c["id"] for c in again.beat_once()] == [second] and kiosk.printed == 1
    assert again.beat_once() == [] and kiosk.printed == 1


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000, b'{"commands": ' + b'{"1": ' * 100_000, b" " * (9 << 20) + b"{}"],
    ids=["nested-arrays", "nested-objects", "nine-megabytes"],
)
def test_a_record_too_deep_or_too_large_is_kept_aside_not_a_crash_at_start(
    server: EmbeddedServer, kiosk: Kiosk, content: bytes
) -> None:
    (kiosk.data_dir / FILE_NAME).write_bytes(content)
    health = kiosk.start()  # the kiosk app starts
    assert STORAGE.status()["state"] == "damaged" and FILE_NAME in STORAGE.status()["files"]
    kept = [p for p in kiosk.data_dir.iterdir() if p.name.startswith(f"{FILE_NAME}.damaged-")]
    assert len(kept) == 1 and kept[0].read_bytes() == content
    cid = queue(server, "print_test_ticket")
    assert [c["id"] for c in health.beat_once()] == [cid] and kiosk.printed == 1
    assert command(server, cid)["status"] == "done"


def test_two_kiosk_processes_on_one_data_directory_never_run_a_command_twice(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    """The kiosk app started while another process of it still holds the data directory (an
    old one ending after a restart, a second copy): a command the other process started, handed
    to this one too, is not run; this one runs nothing while the other lives (the storage alert
    says why), and everything once the other ended, killed in the middle of its command."""
    child = other_process(kiosk.data_dir)
    try:
        health = kiosk.start()
        health.devices = {"storage": STORAGE}
        assert STORAGE.status()["state"] == "unwritable"
        assert "another kiosk app process" in STORAGE.status()["files"]
        cid = queue(server, "print_test_ticket")
        tell(child, f"start {cid}")  # the other process got it first and is running it
        assert [c["id"] for c in health.beat_once()] == [cid]
        assert kiosk.printed == 0  # not run twice
        refused = command(server, cid)
        assert refused["status"] == "failed" and "another kiosk app process" in str(
            refused["result_detail"]
        )
    finally:
        child.send_signal(signal.SIGKILL)  # dies in the middle of the command
        child.wait()
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        child.stdout.close()
    second = queue(server, "print_test_ticket")
    assert [c["id"] for c in health.beat_once()] == [second]
    assert kiosk.printed == 1  # this process holds the record now
    assert health.beat_once() == [] and kiosk.printed == 1
    assert STORAGE.status()["state"] == "ok"
    record = json.loads((kiosk.data_dir / FILE_NAME).read_bytes())["commands"]
    assert record[str(cid)]["detail"].startswith("interrupted")  # read again: the other's
    assert record[str(second)]["state"] == "reported"


def test_a_kiosk_process_killed_while_writing_its_record_leaves_it_whole(
    kiosk: Kiosk,
) -> None:
    """SIGKILL at any moment of the record's writes (each replaces the file whole): the record
    the next process reads is never damaged and holds every command acknowledged before."""
    cid = 0
    for _round in range(6):
        child = other_process(kiosk.data_dir)
        assert child.stdin is not None and child.stdout is not None
        for _ in range(15 + 7 * _round):  # acknowledged
            cid += 1
            tell(child, f"start {cid}")
            tell(child, f"ran {cid}")
        for extra in range(1, 40):  # in flight: the kill lands somewhere in these writes
            child.stdin.write(f"start {cid + extra}\nran {cid + extra}\n")
        child.stdin.flush()
        child.stdout.readline()
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdin.close()
        child.stdout.close()
        record = json.loads((kiosk.data_dir / FILE_NAME).read_bytes())["commands"]
        assert all(str(n) in record for n in range(max(1, cid - 150), cid + 1))
        cid = max(int(n) for n in record)
    assert not [p for p in kiosk.data_dir.iterdir() if ".damaged-" in p.name]


def overview_rows(technician: Technician, **params: str) -> dict[str, str]:
    """The fleet overview's rows (as HTML) by kiosk."""
    r = technician.http.get(f"{technician.base_url}/fleet/", params=params, timeout=10)
    assert r.status_code == 200, r.text
    rows = r.text.split('<tr class="kiosk" data-kiosk="')[1:]
    return {row.split('"', 1)[0]: row.split("</tr>", 1)[0] for row in rows}


def test_the_fleet_overview_names_kiosks_holding_unacknowledged_commands(
    app: FastAPI, server: EmbeddedServer
) -> None:
    stuck, fine = enrol(server, "kiosk-stuck"), enrol(server, "kiosk-fine")
    lost = queue(server, "upload_logs", "kiosk-stuck")
    done = queue(server, "print_test_ticket", "kiosk-fine")
    assert [c["id"] for c in beat(server, stuck).json()["commands"]] == [lost]  # never answered
    assert [c["id"] for c in beat(server, fine).json()["commands"]] == [done]
    answer(server, fine, done, "printed")
    technician = Technician(server.base_url, ADMIN_TOKEN)
    assert "commands_unacknowledged" not in "".join(overview_rows(technician).values())

    app.state.fleet.service.clock = lambda: datetime.now(UTC) + timedelta(minutes=11)
    rows = overview_rows(technician)
    assert (
        'data-code="commands_unacknowledged">Perintah dikirim lebih dari 10 menit'
        in (rows["kiosk-stuck"])
    )
    assert "not acknowledged by the kiosk" in rows["kiosk-stuck"]
    assert "commands_unacknowledged" not in rows["kiosk-fine"]
    assert set(overview_rows(technician, problem="commands_unacknowledged")) == {"kiosk-stuck"}
    listed = kiosks(server, problem="commands_unacknowledged")
    assert set(listed) == {"kiosk-stuck"}
    assert "commands_unacknowledged" in listed["kiosk-stuck"]["alerts"]

    assert beat(server, stuck, received_commands=[lost]).status_code == 200  # acknowledged
    assert "commands_unacknowledged" not in overview_rows(technician)["kiosk-stuck"]
    assert overview_rows(technician, problem="commands_unacknowledged") == {}


def test_the_fleet_overview_reads_unacknowledged_commands_in_one_statement(
    app: FastAPI, server: EmbeddedServer
) -> None:
    """The overview sends as many statements for 6 kiosks as for 2, each holding a command
    unacknowledged (the server's background loops stopped: every statement is the page's)."""
    app.state.review.stop()
    app.state.lease_sweep.stop()
    technician = Technician(server.base_url, ADMIN_TOKEN)
    engine = app.state.db.engine
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    counts, made = [], 0
    for n in (2, 6):
        for i in range(made, n):
            auth = enrol(server, f"kiosk-{i}")
            queue(server, "upload_logs", f"kiosk-{i}")
            assert len(beat(server, auth).json()["commands"]) == 1
        made = n
        app.state.fleet.service.clock = lambda: datetime.now(UTC) + timedelta(minutes=11)
        sent.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            rows = overview_rows(technician)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        app.state.fleet.service.clock = lambda: datetime.now(UTC)
        assert len(rows) == n
        assert all('data-code="commands_unacknowledged"' in row for row in rows.values())
        assert any("fleet_commands" in s for s in sent), sent
        counts.append(len(sent))
    assert counts[0] == counts[1], counts
