"""The kiosk's CUPS policy (provisioning/provision.py): the `<Policy anjungan>` block it adds to
cupsd.conf and how it reads a queue's policy back. Standard library only, like provision.py.
"""

from __future__ import annotations

from pathlib import Path

KIOSK_USER = "anjungan"  # provision.py's, the default user of the policy
CUPS_POLICY = "anjungan"  # the A4 queue's operation policy: see cups_policy()
# The markers keep provision.py's name: cupsd.conf files written before carry them.
_POLICY_BEGIN = "# BEGIN anjungan policy (provisioning/provision.py)"
_POLICY_END = "# END anjungan policy"


def cups_policy(user: str = KIOSK_USER) -> str:
    """cupsd.conf's `<Policy anjungan>`: CUPS's default policy, plus `user` may resume.

    After a jam or an empty tray CUPS stops the queue (and may reject jobs); the attendant's
    "Resume the A4 printer" sends Resume-Printer and CUPS-Accept-Jobs as the kiosk user over the
    local socket (authenticated by peer credentials). Only those two operations are opened up:
    the kiosk user cannot stop, reconfigure or delete queues (it is not in SystemGroup).
    """
    admin = (
        "CUPS-Add-Modify-Printer CUPS-Delete-Printer CUPS-Add-Modify-Class CUPS-Delete-Class "
        "CUPS-Set-Default CUPS-Get-Devices Pause-Printer Disable-Printer "
        "Pause-Printer-After-Current-Job Hold-New-Jobs Release-Held-New-Jobs "
        "Deactivate-Printer Activate-Printer Restart-Printer Shutdown-Printer "
        "Startup-Printer Promote-Job Schedule-Job-After Cancel-Jobs CUPS-Reject-Jobs"
    )
    owner = (
        "Send-Document Send-URI Hold-Job Release-Job Restart-Job Purge-Jobs "
        "Set-Job-Attributes Create-Job-Subscription Renew-Subscription Cancel-Subscription "
        "Get-Notifications Reprocess-Job Cancel-Current-Job Suspend-Current-Job Resume-Job "
        "Cancel-My-Jobs Close-Job CUPS-Move-Job CUPS-Get-Document"
    )
    return "\n".join(
        [
            _POLICY_BEGIN,
            f"<Policy {CUPS_POLICY}>",
            "  JobPrivateAccess default",
            "  JobPrivateValues default",
            "  SubscriptionPrivateAccess default",
            "  SubscriptionPrivateValues default",
            "  <Limit Create-Job Print-Job Print-URI Validate-Job>",
            "    Order deny,allow",
            "  </Limit>",
            f"  <Limit {owner}>",
            "    Require user @OWNER @SYSTEM",
            "    Order deny,allow",
            "  </Limit>",
            "  <Limit Resume-Printer Enable-Printer CUPS-Accept-Jobs>",
            "    AuthType Default",
            f"    Require user @SYSTEM {user}",
            "    Order deny,allow",
            "  </Limit>",
            f"  <Limit {admin}>",
            "    AuthType Default",
            "    Require user @SYSTEM",
            "    Order deny,allow",
            "  </Limit>",
            "  <Limit Cancel-Job CUPS-Authenticate-Job>",
            "    Require user @OWNER @SYSTEM",
            "    Order deny,allow",
            "  </Limit>",
            "  <Limit All>",
            "    Order deny,allow",
            "  </Limit>",
            "</Policy>",
            _POLICY_END,
            "",
        ]
    )


def with_cups_policy(conf: str) -> str:
    """`conf` (a cupsd.conf) with our policy block appended, or replaced where it already is."""
    start, end = conf.find(_POLICY_BEGIN), conf.find(_POLICY_END)
    if start != -1 and end > start:
        conf = conf[:start] + conf[end + len(_POLICY_END) :].lstrip("\n")
    return conf.rstrip("\n") + "\n\n" + cups_policy()


def queue_op_policy(printers_conf: Path, queue: str) -> str | None:
    """The OpPolicy cupsd saved for `queue` in printers.conf (None: not set or not readable)."""
    try:
        lines = printers_conf.read_text().splitlines()
    except OSError:
        return None
    inside = False
    for line in lines:
        words = line.strip().rstrip(">").split()
        if words[:1] in (["<Printer"], ["<DefaultPrinter"]):
            inside = words[1:2] == [queue]
        elif inside and words[:1] == ["OpPolicy"]:
            return " ".join(words[1:])
    return None
