"""The `anjungan` command: kiosk, central server, headless demo."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from central_server.__main__ import add_arguments as add_central_arguments

if TYPE_CHECKING:
    from kiosk_app.bootstrap import Kiosk
    from kiosk_app.config import KioskConfig


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen part of the product."""
    parser = argparse.ArgumentParser(prog="anjungan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    kiosk = sub.add_parser("kiosk", help="run the full-screen kiosk")
    kiosk.add_argument(
        "--config", type=Path, help="TOML config (default: simulators + embedded server)"
    )
    kiosk.add_argument(
        "--windowed", action="store_true", help="a 1280x800 window instead of full screen"
    )
    central = sub.add_parser("central", help="run the central server alone")
    add_central_arguments(central)
    central.add_argument(
        "--import-regions",
        type=Path,
        metavar="DIR",
        help="import an official region edition (CSV files in DIR), then exit",
    )
    demo = sub.add_parser("demo", help="drive the whole journey headless and save what it shows")
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument(
        "--journey",
        choices=("pre_application", "arrival"),
        default="pre_application",
        help="arrival: also the verification day (check-in, calling ticket, counter, display)",
    )
    relaying = sub.add_parser(
        "notify-relay",
        help="run a command (cage and the kiosk), passing its systemd notifications on",
    )
    relaying.add_argument("relayed", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    pin = sub.add_parser("attendant-pin", help="print the config lines for an attendant's PIN")
    pin.add_argument("--id", required=True, help="the attendant's id, e.g. PTG-07")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "central":
        from central_server.__main__ import configure, run

        if args.import_regions is not None:
            from central_server.config import ConfigError
            from central_server.regions import run_import

            try:
                db = configure(args.config, db=args.db).server.database_url
            except ConfigError as exc:
                print(f"anjungan central: {exc}", file=sys.stderr)
                return 2
            if db.startswith("sqlite:///./"):
                Path("var").mkdir(exist_ok=True)
            return run_import(args.import_regions, db)
        return run(args)
    if args.command == "notify-relay":
        from kiosk_app.systemd_notify import relay

        command = args.relayed[1:] if args.relayed[:1] == ["--"] else args.relayed
        if not command:
            parser.error("notify-relay: a command to run is needed")
        return relay(command)
    if args.command == "attendant-pin":
        return _attendant_pin(args.id)
    if args.command == "demo":
        from kiosk_app.ui.demo import run_demo

        return run_demo(args.out, args.journey)
    return _run_kiosk(args.config, windowed=args.windowed)


def _attendant_pin(attendant_id: str) -> int:
    """Ask for a PIN (twice on a terminal, one line on stdin otherwise); print its hash lines."""
    import getpass

    from kiosk_app.services.attendant.auth import CredentialError, pin_config_lines

    if sys.stdin.isatty():
        pin = getpass.getpass("PIN (4-12 digits): ")
        if getpass.getpass("PIN again: ") != pin:
            print("anjungan: the two PINs differ", file=sys.stderr)
            return 2
    else:
        pin = sys.stdin.readline().strip()
    try:
        print(pin_config_lines(attendant_id, pin), end="")
    except (ValueError, CredentialError) as exc:
        print(f"anjungan: {exc}", file=sys.stderr)
        return 2
    return 0


def _run_kiosk(config_path: Path | None, *, windowed: bool) -> int:
    from kiosk_app.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"anjungan: {exc}", file=sys.stderr)
        return 2
    if windowed:
        config.fullscreen = False
    run_kiosk(config)
    return 0


def run_kiosk(config: KioskConfig) -> None:
    """Show the attract screen, then build the kiosk behind it; run until the app stops."""
    from kiosk_app.ui.kivy_env import prepare_kivy

    prepare_kivy(headless=config.headless, fullscreen=config.fullscreen)
    from kiosk_app.ui.app import AnjunganApp

    def build() -> Kiosk:
        from kiosk_app.bootstrap import build_kiosk  # services, drivers: after the first frame

        return build_kiosk(config)

    app = AnjunganApp.cold_start(config, build)
    try:
        app.run()
    finally:
        if app.kiosk is not None:
            app.kiosk.close()


if __name__ == "__main__":
    sys.exit(main())
