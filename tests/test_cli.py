"""The `anjungan` command line: the central server alone, and clear errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_central_serves_health_and_openapi(tmp_path: Path) -> None:
    port = _free_port()
    db = f"sqlite:///{tmp_path / 'central.db'}"
    command = [sys.executable, "-m", "kiosk_app", "central", "--port", str(port), "--db", db]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120  # a hang detector: slow only on a busy machine
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert json.load(r) == {"status": "ok"}
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "central server did not start"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=30) as r:
            paths = json.load(r)["paths"]
        assert "/api/v1/applications" in paths and "/api/v1/slots" in paths
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_bad_config_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nlanguage = "fr"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "kiosk_app", "kiosk", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "language must be 'id' or 'en'" in done.stderr
    assert "Traceback" not in done.stderr


def test_audio_guidance_setting_is_checked(tmp_path: Path) -> None:
    from kiosk_app.config import ConfigError, load_config

    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\naudio_guidance = "off"\n', encoding="utf-8")
    assert load_config(config).audio_guidance == "off"
    config.write_text('[kiosk]\naudio_guidance = "loud"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="audio_guidance"):
        load_config(config)
