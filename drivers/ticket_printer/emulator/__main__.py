"""Run the ESC/POS printer emulator on a pty; faults are switched by commands on stdin."""

from __future__ import annotations

import argparse
import logging
import sys

from drivers.ticket_printer.emulator.device import FAULTS, EscposEmulator

HELP = (
    "commands: <fault> on|off (faults: " + ", ".join(FAULTS) + "), "
    "runout <bytes>, stall on|off, stallafter <bytes>, status, quit"
)


def main(argv: list[str] | None = None) -> int:
    """Start the emulator and obey stdin commands until quit or end of input."""
    parser = argparse.ArgumentParser(
        prog="python -m drivers.ticket_printer.emulator", description=__doc__, epilog=HELP
    )
    parser.add_argument("--link", required=True, help="path of the serial port to create")
    parser.add_argument("--png-dir", required=True, help="where cut tickets are written")
    parser.add_argument(
        "--baud",
        type=int,
        default=None,
        help="throttle reads to this baud rate (default: unthrottled)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with EscposEmulator(args.link, args.png_dir, baudrate=args.baud) as emulator:
        print(f"ready {args.link}", flush=True)
        for raw in sys.stdin:
            words = raw.split()
            if not words:
                continue
            try:
                if words[0] == "quit":
                    break
                if words[0] == "status":
                    f = emulator.faults
                    print(
                        f"tickets={len(emulator.tickets)} incomplete="
                        f"{emulator.machine.incomplete} faults={f}",
                        flush=True,
                    )
                elif words[0] == "runout":
                    emulator.run_out_of_paper_after(int(words[1]))
                elif words[0] == "stall":  # stop reading the wire: a printer holding it off
                    emulator.stall(words[1:2] != ["off"])
                elif words[0] == "stallafter":
                    emulator.stall_after(int(words[1]))
                else:
                    emulator.set_fault(words[0], words[1:2] != ["off"])
                print("ok", flush=True)
            except (ValueError, IndexError) as exc:
                print(f"error: {exc}. {HELP}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
