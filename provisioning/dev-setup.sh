#!/usr/bin/env bash
# Set up a development/CI machine (Debian 12): system packages, then .venv from the lock file.
# Idempotent: run it again after pulling; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  python3 python3-venv python3-dev            # the interpreter, if the machine has no other
  libgl1 libegl1 libgl1-mesa-dri libmtdev1    # software OpenGL for Kivy (SDL offscreen / Xvfb)
  xvfb xauth                                  # a virtual screen when no real one is attached
  fonts-dejavu-core                           # fonts with full Latin coverage
  systemd                                     # systemd-analyze verifies our units
  poppler-utils                               # pdftotext: tests read the printed receipts
  cups cups-client cups-bsd cups-ipp-utils    # A4 printing: cupsd, lpadmin, ippeveprinter
  printer-driver-cups-pdf ghostscript         # the cups-pdf test queue
  libcups2-dev swig                           # building pycups
  avahi-daemon dbus iproute2 util-linux       # ippeveprinter's test bed in a network namespace
  sane-utils libsane1 libsane-dev             # document scanner: SANE (test backend), python-sane
  pcscd libpcsclite-dev vsmartcard-vpcd       # e-KTP reader: PC/SC daemon, pyscard build, vpcd
  pcsc-tools                                  # pcsc_scan for technicians
  chromium chromium-driver                    # officer/dashboard pages in headless Chromium
  postgresql-15                               # production database; server tests run on it too
  nginx-light openssl                         # the central server's front (TLS, static files)
  certbot pebble                              # its first certificate (--certbot) from a test CA
  espeak-ng                                   # audio guidance (Bahasa Indonesia voice)
  strace                                      # tests see the kiosk's fsyncs in its system calls
  cage xwayland libccid                       # the rest of a kiosk's packages (provision.py):
                                              # its --system test finds them all installed
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -r requirements.lock
.venv/bin/python -m pip install -q --no-deps -e .
echo "dev-setup: ready (.venv)"
