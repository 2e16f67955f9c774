"""Document scanning through SANE (python-sane): flatbed or ADF pages as PNG, faults typed."""

from __future__ import annotations

import ctypes
import io
import itertools
import logging
import signal
import threading
from collections.abc import Mapping
from typing import Any

from drivers.errors import (
    DeviceError,
    FeederEmpty,
    ScannerCoverOpen,
    ScannerJam,
    ScannerUnavailable,
)

try:
    import sane
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        "the SANE scanner needs python-sane: pip install 'anjungan[devices]' "
        "(build needs the Debian package libsane-dev)"
    ) from exc

log = logging.getLogger(__name__)

MODES = ("Gray", "Color", "Lineart")
DPI_RANGE = (50, 600)
ADF_WORDS = ("adf", "feeder", "automatic document")

# sane_strstatus() texts (what python-sane's _sane.error carries) -> our typed errors.
_STATUS_ERRORS: dict[str, type[DeviceError]] = {
    "Document feeder jammed": ScannerJam,
    "Scanner cover is open": ScannerCoverOpen,
    "Document feeder out of documents": FeederEmpty,
}

_init_lock = threading.Lock()
_initialised = False


def sane_error(exc: BaseException, context: str) -> DeviceError:
    """Turn a SANE status error into ScannerJam, ScannerCoverOpen, FeederEmpty or the base error."""
    text = str(exc.args[0]) if getattr(exc, "args", None) else str(exc)
    kind = _STATUS_ERRORS.get(text, ScannerUnavailable)
    return kind(f"{context}: SANE says {text!r}")


def _ensure_init() -> None:
    """sane.init() once per process (SANE reads SANE_CONFIG_DIR then)."""
    global _initialised
    with _init_lock:
        if not _initialised:
            try:
                sane.init()
            except sane._sane.error as exc:
                raise ScannerUnavailable(f"SANE could not start: {exc}") from exc
            _initialised = True


class SaneScanner:
    """Scanner on a SANE device; the device is opened per operation so unplugging is survivable."""

    is_simulated = False

    def __init__(
        self,
        device: str | None = None,
        *,
        source: str | None = None,
        adf_source: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """Use SANE `device` (None = the first one found), its flatbed `source` and ADF source."""
        self.device = device
        self.source = source
        self.adf_source = adf_source
        self.options = dict(options or {})
        self._lock = threading.Lock()
        self._pages = itertools.count(1)
        self._scanned = 0

    # -- Scanner ---------------------------------------------------------------------------
    def scan_page(self, dpi: int = 200, mode: str = "Gray") -> bytes:
        """Scan one page from the flatbed (or the configured source) and return it as PNG."""
        _check_args(dpi, mode)
        with self._lock:
            dev, name = self._open()
            try:
                self._configure(dev, dpi, mode, self.source)
                image = dev.scan()
            except sane._sane.error as exc:
                raise sane_error(exc, f"scan on {name}") from exc
            finally:
                dev.close()
                _ignore_sigpipe_again()
            return self._png(image, dpi, name)

    def scan_feeder(self, dpi: int = 200, mode: str = "Gray", max_pages: int = 50) -> list[bytes]:
        """Scan every page in the document feeder; FeederEmpty when it holds none."""
        _check_args(dpi, mode)
        with self._lock:
            dev, name = self._open()
            try:
                source = self.adf_source or _adf_source(dev)
                if source is None:
                    raise ScannerUnavailable(f"{name} has no document feeder")
                self._configure(dev, dpi, mode, source)
                pages: list[bytes] = []
                for image in dev.multi_scan():
                    pages.append(self._png(image, dpi, name))
                    if len(pages) >= max_pages:
                        break
            except sane._sane.error as exc:
                raise sane_error(exc, f"feeder scan on {name}") from exc
            finally:
                dev.close()
                _ignore_sigpipe_again()
        if not pages:
            raise FeederEmpty(f"the feeder of {name} gave no page")
        return pages

    @property
    def has_feeder(self) -> bool:
        """True when the device offers an ADF source."""
        try:
            with self._lock:
                dev, _ = self._open()
                try:
                    return bool(self.adf_source or _adf_source(dev))
                finally:
                    dev.close()
        except DeviceError:
            return False

    def status(self) -> dict[str, str]:
        """Return {"state": ready|unavailable, ...} for the health report."""
        base = {"driver": "sane", "device": self.device or "auto", "pages": str(self._scanned)}
        try:
            with self._lock:
                dev, name = self._open()
                try:
                    feeder = self.adf_source or _adf_source(dev)
                finally:
                    dev.close()
        except DeviceError as exc:
            return {**base, "state": "unavailable", "detail": str(exc)}
        return {**base, "state": "ready", "device": name, "feeder": "yes" if feeder else "no"}

    # -- internals -------------------------------------------------------------------------
    def _open(self) -> tuple[Any, str]:
        _ensure_init()
        name = self.device
        if name is None:
            try:
                devices = sane.get_devices()
            except sane._sane.error as exc:
                raise ScannerUnavailable(f"SANE could not list devices: {exc}") from exc
            if not devices:
                raise ScannerUnavailable("no scanner found: SANE lists no devices")
            name = devices[0][0]
        try:
            return sane.open(name), name
        except sane._sane.error as exc:
            raise ScannerUnavailable(
                f"cannot open scanner {name!r} ({exc}); SANE lists {_device_names()}"
            ) from exc

    def _configure(self, dev: Any, dpi: int, mode: str, source: str | None) -> None:
        settings: dict[str, Any] = dict(self.options)
        if source:
            settings["source"] = source
        settings["mode"] = "Gray" if mode == "Lineart" and "Lineart" not in _choices(dev, "mode") \
            else mode
        if mode == "Lineart" and settings["mode"] == "Gray" and "depth" in dev.opt:
            settings["depth"] = 1
        settings["resolution"] = dpi
        for key, value in settings.items():
            attr = key.replace("-", "_")
            if attr not in dev.opt:
                raise ScannerUnavailable(f"scanner has no option {key!r} (check the config)")
            setattr(dev, attr, value)

    def _png(self, image: Any, dpi: int, device: str) -> bytes:
        from PIL.PngImagePlugin import PngInfo

        page = next(self._pages)
        self._scanned += 1
        info = PngInfo()
        info.add_text("Software", "Anjungan SANE driver")
        info.add_text("Anjungan-Scan", str(page))
        out = io.BytesIO()
        image.save(out, "PNG", pnginfo=info, dpi=(dpi, dpi))
        log.info("scanned page %d on %s at %d dpi (%d bytes)", page, device, dpi, out.tell())
        return out.getvalue()


def _ignore_sigpipe_again() -> None:
    """SANE's reader (sanei_thread) leaves SIGPIPE at its default after a scan; Python relies on
    it being ignored, or one write to a reset socket (e.g. the outbox's upload) kills the kiosk.
    Scans run on worker threads, where signal.signal() is refused: ask libc directly."""
    _LIBC.signal(signal.SIGPIPE, _SIG_IGN)


_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.signal.restype = ctypes.c_void_p
_LIBC.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
_SIG_IGN = 1  # (void (*)(int)) 1


def _check_args(dpi: int, mode: str) -> None:
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not DPI_RANGE[0] <= dpi <= DPI_RANGE[1]:
        raise ValueError(f"dpi must be an integer between {DPI_RANGE[0]} and {DPI_RANGE[1]}, "
                         f"got {dpi!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")


def _choices(dev: Any, option: str) -> list[Any]:
    opt = dev.opt.get(option)
    constraint = getattr(opt, "constraint", None)
    return list(constraint) if isinstance(constraint, list | tuple) else []


def _adf_source(dev: Any) -> str | None:
    """The device's ADF source name, if it has one."""
    for choice in _choices(dev, "source"):
        if isinstance(choice, str) and any(w in choice.lower() for w in ADF_WORDS):
            return choice
    return None


def _device_names() -> str:
    try:
        names = [d[0] for d in sane.get_devices()]
    except sane._sane.error:
        return "nothing (listing failed)"
    return ", ".join(names) if names else "no devices"
