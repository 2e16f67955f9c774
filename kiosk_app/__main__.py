"""The `anjungan` command: kiosk, central server, headless demo."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen part of the product."""
    parser = argparse.ArgumentParser(prog="anjungan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    kiosk = sub.add_parser("kiosk", help="run the full-screen kiosk")
    kiosk.add_argument("--config", type=Path, help="TOML config (default: simulators + embedded server)")
    kiosk.add_argument("--windowed", action="store_true", help="a 1280x800 window instead of full screen")
    central = sub.add_parser("central", help="run the central server alone")
    central.add_argument("--host", default="127.0.0.1")
    central.add_argument("--port", type=int, default=8000)
    central.add_argument("--db", default="sqlite:///./var/central.db", help="SQLAlchemy database URL")
    demo = sub.add_parser("demo", help="drive the whole journey headless and save what it shows")
    demo.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "central":
        from central_server.__main__ import serve

        if args.db.startswith("sqlite:///./"):
            Path("var").mkdir(exist_ok=True)
        serve(args.host, args.port, args.db)
        return 0
    if args.command == "demo":
        from kiosk_app.ui.demo import run_demo

        return run_demo(args.out)
    return _run_kiosk(args.config, windowed=args.windowed)


def _run_kiosk(config_path: Path | None, *, windowed: bool) -> int:
    from kiosk_app.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"anjungan: {exc}", file=sys.stderr)
        return 2
    if windowed:
        config.fullscreen = False
    from kiosk_app.ui.kivy_env import prepare_kivy

    prepare_kivy(headless=config.headless, fullscreen=config.fullscreen)
    from kiosk_app.bootstrap import build_kiosk
    from kiosk_app.ui.app import AnjunganApp

    kiosk = build_kiosk(config)
    try:
        AnjunganApp(kiosk).run()
    finally:
        kiosk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
