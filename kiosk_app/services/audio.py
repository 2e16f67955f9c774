"""Audio guidance: speaks prompts with espeak-ng on one worker thread; the newest one wins."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk_app.domain.speech import speakable
from kiosk_app.domain.text import Text, as_language

log = logging.getLogger(__name__)

MODES = ("auto", "speaker", "wav", "off")
VOICES = {"id": "id", "en": "en-gb"}
WORDS_PER_MINUTE = 140  # slower than espeak's 175: first-timers and the elderly
HISTORY = 50
PROCESS_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Utterance:
    """One prompt as spoken: its language, the words said and the WAV file (wav mode)."""

    seq: int
    lang: str
    words: str
    wav: Path | None = None


def audio_device_present() -> bool:
    """True when a sound card or a PulseAudio/PipeWire server is there to play on."""
    snd = Path("/dev/snd")
    if snd.is_dir() and any(
        p.name.startswith("pcm") and p.name.endswith("p") for p in snd.iterdir()
    ):
        return True
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return runtime is not None and runtime != "" and (Path(runtime) / "pulse" / "native").exists()


def mode_from_env(default: str = "auto") -> tuple[str, Path | None]:
    """ANJUNGAN_AUDIO=off|auto|speaker|wav:<dir> (the config switch's override)."""
    raw = os.environ.get("ANJUNGAN_AUDIO", "").strip()
    if not raw:
        return default, None
    if raw.startswith("wav:"):
        return "wav", Path(raw[4:])
    return (raw if raw in MODES else default), None


class AudioGuidance:
    """Queue + one worker; `say` never blocks and interrupts whatever is being spoken."""

    def __init__(
        self,
        mode: str = "auto",
        *,
        wav_dir: Path | None = None,
        espeak: str | None = None,
        device_present: Callable[[], bool] = audio_device_present,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"audio mode must be one of {MODES}, not {mode!r}")
        if mode == "wav" and wav_dir is None:
            raise ValueError("wav mode needs wav_dir")
        self.mode = mode
        self.wav_dir = wav_dir
        self._espeak = espeak or shutil.which("espeak-ng")
        self._device_present = device_present
        self._queue: queue.Queue[Utterance | None] = queue.Queue()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._seq = 0
        self._silent_logged = False
        self.history: list[Utterance] = []  # what was said (or would have been, when silent)
        self.last: tuple[Text, str] | None = None
        self._done = threading.Condition(self._lock)
        self._handled = 0
        self._thread: threading.Thread | None = None
        self._closed = False
        if mode != "off":
            self._thread = threading.Thread(target=self._run, name="audio-guidance", daemon=True)
            self._thread.start()

    # -- API (any thread, never blocks) ------------------------------------------------------
    def say(self, text: Text | None, lang: str, *, remember: bool = True) -> None:
        """Speak `text` in `lang`, cutting off the prompt being spoken; remembered for repeat."""
        if text is None or self._closed:
            return
        words = speakable(text(as_language(lang)), lang)
        if not words:
            return
        with self._lock:
            if remember:
                self.last = (text, lang)
            self._seq += 1
            item = Utterance(self._seq, lang, words)
            self._stop_current()
        if self.mode == "off":
            self._record(item)
            self._mark_handled(item.seq)
            return
        self._queue.put(item)

    def repeat(self) -> None:
        """Say the last remembered prompt again."""
        last = self.last
        if last is not None:
            self.say(*last)

    def forget(self) -> None:
        """Forget the last prompt and stop speaking (the citizen left)."""
        with self._lock:
            self.last = None
            self._stop_current()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Tests: wait until every queued prompt was handled."""
        with self._done:
            return self._done.wait_for(lambda: self._handled >= self._seq, timeout)

    def close(self) -> None:
        """Stop speaking and end the worker."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            self._stop_current()
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)

    # -- worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            newest = item
            while True:  # skip prompts already replaced by newer ones
                try:
                    newest = self._queue.get_nowait()
                except queue.Empty:
                    break
            if newest is None or item is None:
                self._mark_handled(self._seq)
                return
            try:
                self._speak(newest)
            except Exception:  # guidance must never take the kiosk down
                log.exception("audio guidance failed")
            self._mark_handled(newest.seq)

    def _speak(self, item: Utterance) -> None:
        if self._espeak is None:
            self._silent("espeak-ng is not installed")
            self._record(item)
            return
        if self.mode == "wav":
            assert self.wav_dir is not None
            self.wav_dir.mkdir(parents=True, exist_ok=True)
            wav = self.wav_dir / f"prompt-{item.seq:05d}.wav"
            if self._run_espeak(item, ["-w", str(wav)]) == 0 and wav.is_file():
                item = Utterance(item.seq, item.lang, item.words, wav)
            self._record(item)
            return
        self._record(item)
        if self.mode == "auto" and not self._device_present():
            self._silent("no audio device")
            return
        self._run_espeak(item, [])

    def _run_espeak(self, item: Utterance, extra: list[str]) -> int | None:
        command = [
            str(self._espeak),
            "-v",
            VOICES.get(item.lang, "id"),
            "-s",
            str(WORDS_PER_MINUTE),
            *extra,
            "--",
            item.words,
        ]
        with self._lock:
            if item.seq != self._seq:
                return None  # a newer prompt arrived meanwhile
            try:
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                self._silent(f"espeak-ng could not start: {exc}")
                return None
            self._process = process
        try:
            process.wait(timeout=PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            log.warning("espeak-ng took longer than %ss; stopped", PROCESS_TIMEOUT_S)
            return None
        finally:
            with self._lock:
                if self._process is process:
                    self._process = None
        if process.returncode not in (0, -15, -9):
            log.warning("espeak-ng failed with exit status %s", process.returncode)
        return process.returncode

    def _stop_current(self) -> None:
        """Lock held: cut off the prompt being spoken."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def _record(self, item: Utterance) -> None:
        with self._lock:
            self.history.append(item)
            del self.history[:-HISTORY]

    def _mark_handled(self, seq: int) -> None:
        with self._done:
            self._handled = max(self._handled, seq)
            self._done.notify_all()

    def _silent(self, why: str) -> None:
        if not self._silent_logged:
            self._silent_logged = True
            log.warning("audio guidance is silent: %s", why)

    def spoken_words(self) -> list[str]:
        """Everything said so far (or recorded while silent), oldest first."""
        with self._lock:
            return [u.words for u in self.history]


def guidance_from_config(mode: str, data_dir: Path) -> AudioGuidance:
    """Audio guidance as configured (`audio_guidance` = auto|speaker|wav|off; env overrides)."""
    chosen, wav_dir = mode_from_env(mode or "auto")
    if chosen == "wav" and wav_dir is None:
        wav_dir = data_dir / "audio"
    try:
        return AudioGuidance(chosen, wav_dir=wav_dir)
    except ValueError:
        log.warning("unknown audio_guidance %r; audio guidance is off", chosen)
        return AudioGuidance("off")
