"""A private SANE configuration holding only the `test` backend, set up once per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# The test backend's defaults are a 80x100 mm black square; a kiosk scans A4 (210x297 mm).
TEST_CONF = """number_of_devices 2
mode Gray
depth 8
hand-scanner false
three-pass false
three-pass-order RGB
resolution_min 1.0
resolution_max 1200.0
resolution_quant 1.0
resolution 75.0
test-picture "Grid"
invert-endianess false
read-limit false
read-limit-size 1
read-delay false
read-delay-duration 1000
read-status-code "Default"
fuzzy-parameters false
ppl-loss 0
non-blocking false
select-fd false
enable-test-options false
geometry_min 0.0
geometry_max 300.0
geometry_quant 1.0
tl_x 0.0
tl_y 0.0
br_x 210.0
br_y 297.0
"""


def write_sane_config(folder: Path, backends: str = "test") -> Path:
    """Write dll.conf (just `backends`) and test.conf into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dll.conf").write_text(f"{backends}\n" if backends else "")
    (folder / "test.conf").write_text(TEST_CONF)
    return folder


@pytest.fixture(scope="session")
def sane_config() -> Iterator[Path]:
    """SANE_CONFIG_DIR pointing at the private config for this whole session."""
    if shutil.which("scanimage") is None and not Path("/usr/lib/x86_64-linux-gnu/sane").exists():
        pytest.fail("SANE is not installed (Debian packages libsane1 sane-utils)")
    folder = write_sane_config(Path(tempfile.mkdtemp(prefix="anjungan-sane-")))
    before = os.environ.get("SANE_CONFIG_DIR")
    os.environ["SANE_CONFIG_DIR"] = str(folder)
    try:
        yield folder
    finally:
        if before is None:
            os.environ.pop("SANE_CONFIG_DIR", None)
        else:
            os.environ["SANE_CONFIG_DIR"] = before
        shutil.rmtree(folder, ignore_errors=True)
