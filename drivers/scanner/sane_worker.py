"""The SANE worker: a child process that owns libsane for one SaneScanner.

libsane runs backends in its own reader threads and, on a fault, cancels them asynchronously
(sanei_thread); a thread cancelled inside malloc leaves the allocator's lock held and the next
sane_cancel() or sane_close() waits forever, holding Python's GIL (python-sane does not release it
there). Seen with SANE's test backend failing a read (CI hung for 90 minutes); any backend built
on sanei_thread can do it. In a child process such a hang costs nothing: the parent gives each
answer a deadline and kills a worker that misses it.

Protocol (pickled tuples over two pipes, see drivers.scanner.sane):
  request  {"op": "status"|"page"|"feeder", "device", "source", "adf_source", "options",
            "dpi", "mode", "max_pages", "first_page"}
  replies  ("page", png) per page, then one of
           ("done", info) | ("sane", status_text) | ("unavailable", message)
           and, once the device is closed again, ("idle",).
"""

from __future__ import annotations

import io
import signal
import sys
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

ADF_WORDS = ("adf", "feeder", "automatic document")
NO_DOCS = "Document feeder out of documents"


def status_text(exc: BaseException) -> str:
    """The sane_strstatus() text a python-sane error carries."""
    return str(exc.args[0]) if exc.args else str(exc)


class Unavailable(Exception):
    """A failure of ours (no device, unknown option), not a SANE status."""


def main(argv: list[str]) -> int:
    """Serve requests from fd argv[0], answer on fd argv[1], until the parent closes the pipe
    (as it does when the kiosk process ends, however it ends)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the worker ends
    requests = Connection(int(argv[0]), writable=False)
    replies = Connection(int(argv[1]), readable=False)
    try:
        import sane
    except ImportError as exc:
        replies.send(("unavailable", f"python-sane is not installed here: {exc}"))
        return 1
    try:
        sane.init()
    except sane._sane.error as exc:
        replies.send(("unavailable", f"SANE could not start: {exc}"))
        return 1
    replies.send(("ready",))
    while True:
        try:
            request = requests.recv()
        except EOFError:
            return 0
        _serve(sane, request, replies)


def _serve(sane: Any, request: dict[str, Any], replies: Connection) -> None:
    dev = None
    try:
        dev, name = _open(sane, request["device"])
        op = request["op"]
        if op == "status":
            replies.send(
                ("done", {"device": name, "feeder": request["adf_source"] or _adf_source(dev)})
            )
        elif op == "page":
            _configure(dev, request, request["source"])
            dev.start()
            replies.send(("page", _png(dev.snap(no_cancel=True), request, request["first_page"])))
            replies.send(("done", {"device": name}))
        else:
            source = request["adf_source"] or _adf_source(dev)
            if source is None:
                raise Unavailable(f"{name} has no document feeder")
            _configure(dev, request, source)
            count = 0
            for image in _feeder_pages(sane, dev, request["max_pages"]):
                replies.send(("page", _png(image, request, request["first_page"] + count)))
                count += 1
            replies.send(("done", {"device": name}))
    except sane._sane.error as exc:
        replies.send(("sane", status_text(exc)))
    except Unavailable as exc:
        replies.send(("unavailable", str(exc)))
    finally:
        # The citizen already has the answer; a backend that hangs from here on is the parent's
        # to kill when ("idle",) does not come.
        if dev is not None:
            try:
                dev.cancel()
            except sane._sane.error:
                pass
            dev.close()
        replies.send(("idle",))


def _open(sane: Any, device: str | None) -> tuple[Any, str]:
    name = device
    if name is None:
        try:
            devices = sane.get_devices()
        except sane._sane.error as exc:
            raise Unavailable(f"SANE could not list devices: {exc}") from exc
        if not devices:
            raise Unavailable("no scanner found: SANE lists no devices")
        name = devices[0][0]
    try:
        return sane.open(name), name
    except sane._sane.error as exc:
        raise Unavailable(
            f"cannot open scanner {name!r} ({exc}); SANE lists {_device_names(sane)}"
        ) from exc


def _feeder_pages(sane: Any, dev: Any, max_pages: int) -> Iterator[Any]:
    """Pages from the feeder until it is empty or `max_pages` came (no cancel between pages)."""
    for _ in range(max_pages):
        try:
            dev.start()
            image = dev.snap(no_cancel=True)
        except sane._sane.error as exc:
            if str(exc) == NO_DOCS:
                return
            raise
        yield image


def _configure(dev: Any, request: dict[str, Any], source: str | None) -> None:
    mode = request["mode"]
    settings: dict[str, Any] = dict(request["options"])
    if source:
        settings["source"] = source
    settings["mode"] = (
        "Gray" if mode == "Lineart" and "Lineart" not in _choices(dev, "mode") else mode
    )
    if mode == "Lineart" and settings["mode"] == "Gray" and "depth" in dev.opt:
        settings["depth"] = 1
    settings["resolution"] = request["dpi"]
    for key, value in settings.items():
        attr = key.replace("-", "_")
        if attr not in dev.opt:
            raise Unavailable(f"scanner has no option {key!r} (check the config)")
        setattr(dev, attr, value)


def _png(image: Any, request: dict[str, Any], page: int) -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", "Anjungan SANE driver")
    info.add_text("Anjungan-Scan", str(page))
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, dpi=(request["dpi"], request["dpi"]))
    return out.getvalue()


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


def _device_names(sane: Any) -> str:
    try:
        names = [d[0] for d in sane.get_devices()]
    except sane._sane.error:
        return "nothing (listing failed)"
    return ", ".join(names) if names else "no devices"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
