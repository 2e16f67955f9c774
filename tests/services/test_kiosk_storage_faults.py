"""The whole kiosk (build_kiosk from its config) on a read-only data folder, a full disk and
without its outbox key: it starts, status checks work, a submission is refused with an
explanation (never acknowledged) and the health report names the file. Read-only and full
disks are real mounts in a child's private mount namespace, since root ignores file modes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from central_server.embedded import EmbeddedServer
from kiosk_app.services.session.submission import STORAGE_REFUSED
from tests.services.outbox_rig import server_with_application

ROOT = Path(__file__).resolve().parents[2]
HANG_GUARD_S = 240  # only against hangs

CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from kiosk_app.bootstrap import build_kiosk
    from kiosk_app.config import load_config
    from kiosk_app.demo_data import sample_birth_values
    from kiosk_app.domain.catalogue import SERVICES
    from kiosk_app.domain.registration import split_number
    from kiosk_app.domain.session import SessionState

    config_path, known_number, fill = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "fill"
    kiosk = build_kiosk(load_config(config_path))
    s = kiosk.session

    def wait(predicate, what):
        deadline = time.monotonic() + 120  # a hang detector: slow only on a busy machine
        while not predicate(s.view):
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}; state {s.view.state}")
            time.sleep(0.02)
        return s.view

    if fill:  # the disk fills up while the kiosk runs
        try:
            with (kiosk.config.data_dir / "ballast").open("wb") as handle:
                while True:
                    handle.write(b"x" * 4096)
                    handle.flush()
        except OSError:
            pass
    s.simulate_card_tap(0)
    wait(lambda v: v.state is SessionState.IDENTITY, "identity")
    s.continue_to_menu()
    s.choose_service("akta_kelahiran")
    form, values = SERVICES["akta_kelahiran"].form, sample_birth_values()
    for index in range(len(form.pages)):
        for name in form.page_fields(index):
            s.set_value(name, values[name])
        s.next_page()
    if s.view.state is SessionState.SCAN:  # the simulated scanner offers the scanning step
        s.scan_skip_all()
    view = wait(lambda v: v.state is SessionState.SCHEDULE and bool(v.slots), "slots")
    s.choose_slot(view.slots[0].slot)
    started = time.monotonic()
    s.submit()
    view = wait(lambda v: v.state is not SessionState.SUBMITTING, "the submission's end")
    told_s = time.monotonic() - started
    tickets = kiosk.devices.ticket_printer.tickets
    result = {
        "state": view.state.value,
        "outcome": view.outcome is not None,
        "message_en": view.message.en if view.message else None,
        "slip": tickets[-1].registration_number if tickets else None,
        "pending": kiosk.outbox.outbox.depth(),
        "qr": tickets[-1].qr_payload if tickets else None,
        "told_s": round(told_s, 3),  # for benchmarks/faults.py; never asserted
    }
    s.finish()  # the citizen leaves; the next one checks a status without a card
    if wait(lambda v: v.state in (SessionState.GOODBYE, SessionState.SURVEY),
            "goodbye").state is SessionState.SURVEY:  # after a submission that went through
        s.survey_skip()
        wait(lambda v: v.state is SessionState.GOODBYE, "goodbye")
    s.open_status()
    prefix, digits = split_number(known_number)
    s.status_prefix(prefix)
    for key in ["backspace"] * len(digits) + list(digits):  # the office's digits come typed
        s.status_key(key)
    s.status_key("done")
    view = wait(lambda v: v.status_check is not None and v.status_check.result is not None,
                "the status result")
    result["status_found"] = view.status_check.result.registration_number
    devices = kiosk.health.collect()["devices"]
    result["storage"], result["seal_key"] = devices["storage"], devices.get("seal_key")
    kiosk.close()
    print(json.dumps(result))
""")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedServer, str]]:
    """A central server holding one application whose status the kiosk looks up."""
    server, number = server_with_application(tmp_path_factory.mktemp("central") / "central.db")
    yield server, number
    server.stop()


def kiosk_in_namespace(
    tmp_path: Path,
    server: tuple[EmbeddedServer, str],
    mount: str,
    *,
    key_file: Path | None,
    fill: bool = False,
    extra: str = "",
) -> dict[str, object]:
    """Build the kiosk in a child whose data folder is re-mounted by `mount`; its JSON answer."""
    base_url, number = server[0].base_url, server[1]
    folder = tmp_path / "var"
    folder.mkdir(exist_ok=True)
    config = tmp_path / "kiosk.toml"
    key_line = f'outbox_key_file = "{key_file}"\n' if key_file is not None else ""
    config.write_text(
        f'[kiosk]\nkiosk_id = "KIOSK-3517-SF"\noffice_code = "3517"\n'
        f'central_url = "{base_url}"\ndata_dir = "{folder}"\noutput_dir = "{tmp_path / "out"}"\n'
        f'audio_guidance = "off"\n{key_line}{extra}'
    )
    script = (
        f'{mount + " && " if mount else ""}exec {sys.executable} -c "$CHILD" {config} '
        f"{number} {'fill' if fill else 'nofill'}"
    )
    done = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        env={**os.environ, "CHILD": CHILD, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]  # told and logged, not crashed
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _key(tmp_path: Path) -> Path:
    key = tmp_path / "outbox.key"
    key.write_bytes(bytes(range(32)))
    key.chmod(0o600)
    return key


def _refused(result: dict[str, object], number: str, *, slip: bool = True) -> None:
    assert result["state"] == "review" and result["outcome"] is False  # never acknowledged
    message = result["message_en"]
    assert isinstance(message, str) and message.startswith(STORAGE_REFUSED.en)
    assert result["slip"] == ("TIDAK TERSIMPAN" if slip else None)
    assert result["pending"] == 0
    assert result["status_found"] == number  # the kiosk still serves status checks


def test_a_read_only_data_folder(tmp_path: Path, server: tuple[EmbeddedServer, str]) -> None:
    folder = tmp_path / "var"
    result = kiosk_in_namespace(
        tmp_path,
        server,
        f"mkdir -p {folder} && mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}",
        key_file=_key(tmp_path),
    )
    _refused(result, server[1])
    storage = result["storage"]
    assert isinstance(storage, dict) and storage["state"] == "unwritable"
    assert "outbox.db" in storage["files"] and "print-journal.db" in storage["files"]


def test_a_full_data_disk(tmp_path: Path, server: tuple[EmbeddedServer, str]) -> None:
    folder = tmp_path / "var"
    result = kiosk_in_namespace(
        tmp_path,
        server,
        f"mkdir -p {folder} && mount -t tmpfs -o size=2m tmpfs {folder}",
        key_file=_key(tmp_path),
        fill=True,
    )
    _refused(result, server[1])
    storage = result["storage"]
    assert isinstance(storage, dict) and storage["state"] == "full"
    assert "outbox" in storage["files"]


@pytest.mark.parametrize("key", ["missing", "damaged"])
def test_no_usable_outbox_key(tmp_path: Path, server: tuple[EmbeddedServer, str], key: str) -> None:
    key_file = tmp_path / "outbox.key"
    if key == "damaged":
        key_file.write_bytes(b"not a key at all\n")
    result = kiosk_in_namespace(tmp_path, server, "", key_file=key_file)
    _refused(result, server[1])
    storage = result["storage"]
    assert isinstance(storage, dict) and storage["state"] == "no_key"
    assert "outbox.key" in storage["files"]


def test_a_damaged_signing_key_is_replaced_by_a_new_one(
    tmp_path: Path, server: tuple[EmbeddedServer, str]
) -> None:
    signing = tmp_path / "signing.key"
    signing.write_bytes(b"not a key at all\n")
    result = kiosk_in_namespace(
        tmp_path, server, "", key_file=_key(tmp_path), extra=f'signing_key_file = "{signing}"\n'
    )
    # The damaged file is kept aside, a new key made: the booking's QR carries a seal, and
    # the health report says the key was made anew (its state: what the server said).
    assert result["state"] == "result" and result["outcome"] is True
    assert "/r/AJ1." in str(result["qr"])
    [kept] = tmp_path.glob("signing.key.damaged-*")  # time-stamped: durable.keep_aside
    assert kept.read_bytes() == b"not a key at all\n"
    seal_key = result["seal_key"]
    assert isinstance(seal_key, dict) and seal_key["renewed"] == "key file damaged: new key made"
    storage = result["storage"]
    assert isinstance(storage, dict) and storage["state"] == "ok"


def test_no_signing_key_can_be_written(tmp_path: Path, server: tuple[EmbeddedServer, str]) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    signing = folder / "signing.key"  # missing, in a read-only folder
    result = kiosk_in_namespace(
        tmp_path,
        server,
        f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}",
        key_file=_key(tmp_path),
        extra=f'signing_key_file = "{signing}"\n',
    )
    # The kiosk serves all the same: the booking goes through, its QR the bare number (no
    # seal, no lease taken), and the health report names the key file.
    assert result["state"] == "result" and result["outcome"] is True
    assert result["qr"] == result["slip"] and str(result["qr"]).startswith("AKTA-")
    storage = result["storage"]
    assert isinstance(storage, dict) and storage["state"] == "no_key"
    assert "signing.key" in storage["files"]
