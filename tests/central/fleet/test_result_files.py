"""The files of command results (screenshots, log bundles) survive a restart of the kiosk app
while the server is away, against the real central server over HTTP on loopback (SQLite and
PostgreSQL) behind the fault proxy, and the kiosk's real health reporter discarded and made
again on the same data directory: the file reaches the technician byte for byte and leaves
the kiosk's disk, it is never on disk in the clear, the files kept are bounded (the oldest
dropped, its result says so) and a damaged one is reported lost and kept aside for the
technician (the newest few, outside the cap), never a crash."""

from __future__ import annotations

import io
import logging
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from central_server.embedded import EmbeddedServer
from central_server.fleet.schemas import MAX_ATTACHMENT_B64
from kiosk_app.services.durable import STORAGE
from kiosk_app.services.health import HealthReporter
from kiosk_app.services.result_files import FOLDER, MAX_SENT_BYTES
from kiosk_app.services.system_actions import RecordingSystemActions
from tests.central.conftest import ADMIN_TOKEN
from tests.central.fleet.helpers import KioskRig, command, kiosk_rig, other_process, queue

RESULTS = b"POST /api/v1/fleet/commands/"
SECRET = b"NIK 3517012345670001 SITI AMINAH"  # what a screenshot may show, blurred or not


@dataclass
class Kiosk(KioskRig):
    """A kiosk with a screen and logs, and its outbox key; `start()` is its app (re)starting."""

    key: bytes = field(default_factory=lambda: AESGCM.generate_key(bit_length=256))
    cap_bytes: int = 24_000_000
    shots: list[bytes] = field(default_factory=list)

    def start(self) -> HealthReporter:
        (self.data_dir / "logs").mkdir(exist_ok=True)
        (self.data_dir / "logs" / "kiosk.log").write_bytes(b"INFO started\n" + SECRET)
        return self.reporter(
            log_dir=self.data_dir / "logs",
            system=RecordingSystemActions(),
            screenshot=self.screenshot,
            attachment_key=self.key,
            attachment_cap_bytes=self.cap_bytes,
        )

    def screenshot(self) -> bytes:
        shot = b"\x89PNG\r\n\x1a\n" + SECRET + os.urandom(50_000)
        self.shots.append(shot)
        return shot

    def stored(self) -> list[Path]:
        folder = self.data_dir / FOLDER
        return sorted(folder.iterdir()) if folder.exists() else []

    def restart(self) -> HealthReporter:
        """The app killed and started again: its reporter (and all it held in memory) gone."""
        self.close()
        return self.start()


@pytest.fixture
def kiosk(server: EmbeddedServer, tmp_path: Path) -> Iterator[Kiosk]:
    yield from kiosk_rig(Kiosk, server, tmp_path)


def attachment(server: EmbeddedServer, cid: int) -> requests.Response:
    """The command's file as a technician downloads it from the dashboard."""
    staff = requests.Session()
    login = staff.post(f"{server.base_url}/fleet/login", data={"token": ADMIN_TOKEN}, timeout=10)
    assert login.status_code == 200
    return staff.get(f"{server.base_url}/fleet/commands/{cid}/attachment", timeout=10)


def test_a_file_kept_across_a_restart_reaches_the_technician_and_leaves_the_disk(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    health = kiosk.start()
    shot, logs = queue(server, "screenshot"), queue(server, "upload_logs")
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"  # the server away for results
    assert [c["id"] for c in health.beat_once()] == [shot, logs]
    assert command(server, shot)["status"] == "sent"
    stored = kiosk.stored()
    assert [p.name for p in stored] == [f"{shot}.sealed", f"{logs}.sealed"]
    assert not any(SECRET in p.read_bytes() for p in stored)  # sealed at rest
    assert not any(b"PNG" in p.read_bytes()[:32] for p in stored)

    again = kiosk.restart()
    assert again.beat_once() == []  # still away: kept
    assert [p.name for p in kiosk.stored()] == [f"{shot}.sealed", f"{logs}.sealed"]
    kiosk.proxy.mode = "forward"
    assert again.beat_once() == []
    for cid in (shot, logs):
        done = command(server, cid)
        assert (done["status"], done["has_attachment"]) == ("done", True), done
        assert "lost" not in str(done["result_detail"])
    got = attachment(server, shot)
    assert (got.content, got.headers["content-type"]) == (kiosk.shots[0], "image/png")
    with tarfile.open(fileobj=io.BytesIO(attachment(server, logs).content)) as tar:
        member = tar.extractfile("kiosk.log")
        assert member is not None and member.read() == b"INFO started\n" + SECRET
    assert kiosk.stored() == []  # the server has them: gone from the kiosk


def damage(path: Path) -> bytes:
    """One bit rotted on the disk: the file's new bytes."""
    damaged = bytearray(path.read_bytes())
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    return bytes(damaged)


def test_a_damaged_stored_file_is_kept_aside_and_reported_lost(
    server: EmbeddedServer, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    health = kiosk.start()
    cid = queue(server, "screenshot")
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"
    assert [c["id"] for c in health.beat_once()] == [cid]
    [stored] = kiosk.stored()
    damaged = damage(stored)

    again = kiosk.restart()
    again.devices = {"storage": STORAGE}
    kiosk.proxy.mode = "forward"
    with caplog.at_level(logging.INFO, logger="kiosk_app.services.result_files"):
        assert again.beat_once() == []
    lost = command(server, cid)
    assert (lost["status"], lost["has_attachment"]) == ("done", False)
    assert "its file was lost: the kiosk's stored copy does not open (InvalidTag)" in str(
        lost["result_detail"]
    )
    # the evidence is kept for the technician, byte for byte, and named in an ERROR line and
    # in the storage health the fleet shows
    [kept] = kiosk.stored()
    assert kept.name.startswith(f"{cid}.sealed.damaged-") and kept.read_bytes() == damaged
    assert any(
        r.levelno == logging.ERROR
        and f"stored file of command {cid}" in r.getMessage()
        and kept.name in r.getMessage()
        for r in caplog.records
    )
    assert STORAGE.status()["state"] == "damaged" and f"{cid}.sealed" in STORAGE.status()["files"]
    caplog.clear()
    assert kiosk.restart().beat_once() == []  # never read again
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert kiosk.stored() == [kept]


def test_damaged_files_kept_aside_do_not_count_against_the_cap_and_stay_bounded(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    kiosk.cap_bytes = 200_000  # three screenshots of ~50 kB sealed, not four
    health = kiosk.start()
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"
    first = [queue(server, "screenshot") for _ in range(3)]
    assert len(health.beat_once()) == 3
    for path in kiosk.stored():
        damage(path)
    health = kiosk.restart()
    kiosk.proxy.mode = "forward"
    assert health.beat_once() == []  # the three set aside, reported lost
    assert len(kiosk.stored()) == 3 and all(".damaged-" in p.name for p in kiosk.stored())

    kiosk.proxy.mode = "reset"
    later = [queue(server, "screenshot") for _ in range(3)]
    assert len(health.beat_once()) == 3
    fresh = [p.name for p in kiosk.stored() if ".damaged-" not in p.name]
    assert fresh == sorted(f"{cid}.sealed" for cid in later)  # the cap is for these alone
    damage(kiosk.data_dir / FOLDER / f"{later[0]}.sealed")
    health = kiosk.restart()
    kiosk.proxy.mode = "forward"
    assert health.beat_once() == []
    aside = sorted(p.name.split(".")[0] for p in kiosk.stored())
    assert aside == sorted(str(cid) for cid in [*first[1:], later[0]])  # the oldest went
    assert "lost" in str(command(server, later[0])["result_detail"])
    for n, cid in enumerate(later[1:], start=4):
        assert attachment(server, cid).content == kiosk.shots[n]


def test_the_oldest_file_is_dropped_beyond_the_cap_and_its_result_says_so(
    server: EmbeddedServer, kiosk: Kiosk, caplog: pytest.LogCaptureFixture
) -> None:
    kiosk.cap_bytes = 150_000  # two screenshots of ~50 kB sealed, not three
    health = kiosk.start()
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"
    first, second, third = (queue(server, "screenshot") for _ in range(3))
    with caplog.at_level(logging.INFO, logger="kiosk_app.services.result_files"):
        assert len(health.beat_once()) == 3
    assert [p.name for p in kiosk.stored()] == [f"{second}.sealed", f"{third}.sealed"]
    assert any(
        r.levelno == logging.WARNING and f"file of command {first} " in r.getMessage()
        for r in caplog.records
    )

    again = kiosk.restart()
    kiosk.proxy.mode = "forward"
    assert again.beat_once() == []
    dropped = command(server, first)
    assert (dropped["status"], dropped["has_attachment"]) == ("done", False)
    assert "its file was dropped: the kiosk keeps at most 150000 bytes" in str(
        dropped["result_detail"]
    )
    for n, cid in ((1, second), (2, third)):
        assert attachment(server, cid).content == kiosk.shots[n]
    assert kiosk.stored() == []


def test_a_file_the_disk_refuses_is_still_sent_by_the_process_that_made_it(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    (kiosk.data_dir / FOLDER).write_bytes(b"")  # a file where the folder goes: unwritable
    health = kiosk.start()
    health.devices = {"storage": STORAGE}
    cid = queue(server, "screenshot")
    kiosk.proxy.only, kiosk.proxy.mode = RESULTS, "reset"
    assert [c["id"] for c in health.beat_once()] == [cid]
    assert STORAGE.status()["state"] == "unwritable" and FOLDER in STORAGE.status()["files"]
    kiosk.proxy.mode = "forward"
    assert health.beat_once() == []  # from memory
    assert attachment(server, cid).content == kiosk.shots[0]


def test_a_second_kiosk_process_leaves_the_files_of_the_one_holding_the_record_alone(
    kiosk: Kiosk,
) -> None:
    """A second copy of the kiosk app started on the data directory (by mistake, or while the
    old one ends) does not remove the result files of the process that holds the record: one
    being written, one of a result that process has not recorded yet."""
    folder = kiosk.data_dir / FOLDER
    folder.mkdir()
    theirs = [folder / "7.sealed", folder / "8.sealed.tmp"]
    for path in theirs:
        path.write_bytes(os.urandom(1000))
    child = other_process(kiosk.data_dir)
    try:
        kiosk.start()
        assert kiosk.stored() == sorted(theirs)
    finally:
        child.kill()
        child.wait()
    kiosk.restart()  # now this process holds the record: files no command awaits go
    assert kiosk.stored() == []


def test_a_log_bundle_is_kept_within_what_the_server_takes(
    server: EmbeddedServer, kiosk: Kiosk
) -> None:
    """Rotated logs that do not compress, over the server's ~6 MB: the oldest files are left out
    (the result says how many), not a bundle the server refuses (and the kiosk sent again)."""
    assert MAX_SENT_BYTES == MAX_ATTACHMENT_B64 * 3 // 4  # the kiosk knows the server's limit
    health = kiosk.start()
    logs = kiosk.data_dir / "logs"
    for n in range(1, 5):  # each file's 2 MB tail goes in the bundle: 8 MB
        (logs / f"kiosk.log.{n}").write_bytes(os.urandom(2_000_000))
        os.utime(logs / f"kiosk.log.{n}", (1_700_000_000 - n, 1_700_000_000 - n))
    cid = queue(server, "upload_logs")
    assert [c["id"] for c in health.beat_once()] == [cid]
    done = command(server, cid)
    assert (done["status"], done["has_attachment"]) == ("done", True), done
    assert str(done["result_detail"]).startswith("3 log file(s), 2 older left out"), done
    with tarfile.open(fileobj=io.BytesIO(attachment(server, cid).content)) as tar:
        assert tar.getnames() == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]
    assert kiosk.stored() == []


@pytest.mark.parametrize(
    ("shot", "why"),
    [
        (b"GIF89a" + SECRET, "its file was refused by the server (bad_attachment)"),
        (b"\x89PNG\r\n\x1a\n" + bytes(6_100_000), "its file (6100008 bytes) is larger than"),
    ],
    ids=["not-a-png", "too-large"],
)
def test_a_file_the_server_never_takes_still_finishes_its_command(
    server: EmbeddedServer, kiosk: Kiosk, shot: bytes, why: str
) -> None:
    """A screenshot that is no PNG (422) or over the server's ~6 MB (413, the connection often
    closed mid-upload): the result goes without the file and says so, instead of the command
    left unfinished on the dashboard, or the file sent again at every heartbeat."""
    health = kiosk.start()
    health.screenshot = lambda: shot
    cid = queue(server, "screenshot")
    assert [c["id"] for c in health.beat_once()] == [cid]
    done = command(server, cid)
    assert (done["status"], done["has_attachment"]) == ("done", False), done
    assert why in str(done["result_detail"])
    assert kiosk.stored() == []
    assert health.beat_once() == [] and kiosk.restart().beat_once() == []
