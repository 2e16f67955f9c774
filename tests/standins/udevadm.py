#!/usr/bin/env python3
"""A stand-in `udevadm` for provisioning's --system tests (tests/test_provisioning_system.py).

Why: udevd is started by systemd, which is not running in the test containers, so
`udevadm control --reload-rules` has no daemon to tell. Instead the rules are checked the way
udevd would read them: the real `udevadm test` loads every rules file and names each line it
cannot parse ("FILE:LINE Invalid key ..."); any such complaint fails the reload. Other verbs go to
the real udevadm. Every call is appended to /run/standin/calls.log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REAL = "/usr/bin/udevadm"
STATE = Path("/run/standin")
COMPLAINT = re.compile(r"^\S+\.rules:\d+ ")


def main(argv: list[str]) -> int:
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "calls.log").open("a") as log:
        log.write(json.dumps(["udevadm", *argv]) + "\n")
    if argv[:2] != ["control", "--reload-rules"]:
        return subprocess.run([REAL, *argv], check=False).returncode
    done = subprocess.run(
        [REAL, "test", "--action=add", "/sys/class/tty/tty0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    complaints = [line for line in done.stderr.splitlines() if COMPLAINT.match(line)]
    if complaints:
        print("\n".join(complaints), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
