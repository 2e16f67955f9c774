"""The waiting room's spoken call as one WAV: a two-tone chime, then espeak-ng's Indonesian voice.

Offline (never a cloud voice); each sentence is synthesised once per process and cached.
"""

from __future__ import annotations

import functools
import io
import logging
import math
import shutil
import subprocess
import tempfile
import wave
from array import array
from pathlib import Path

log = logging.getLogger("central_server.queue.audio")

RATE = 22050  # espeak-ng's output rate
WORDS_PER_MINUTE = 130  # slow and clear for a large room
ESPEAK_TIMEOUT_S = 30.0
CHIME = ((659.25, 0.45), (523.25, 0.7))  # E5 then C5: "ding-dong"
CACHE_SIZE = 512


def chime(rate: int = RATE) -> bytes:
    """The chime as 16-bit mono samples: two decaying bell tones."""
    samples = array("h")
    for frequency, seconds in CHIME:
        count = int(rate * seconds)
        for i in range(count):
            t = i / rate
            envelope = math.exp(-4.0 * t / seconds) * min(1.0, i / (0.005 * rate))
            tone = math.sin(2 * math.pi * frequency * t) + 0.3 * math.sin(
                4 * math.pi * frequency * t
            )
            samples.append(int(12000 * envelope * tone))
    samples.extend([0] * int(rate * 0.25))  # a breath before the voice
    return samples.tobytes()


def speak(text: str, espeak: str | None = None) -> tuple[int, bytes]:
    """(sample rate, 16-bit mono samples) of espeak-ng saying `text` in Indonesian; no samples
    when espeak-ng is missing or fails (the chime still plays, the technician reads the log)."""
    program = espeak or shutil.which("espeak-ng")
    if program is None:
        log.warning("espeak-ng is not installed: the display plays the chime only")
        return RATE, b""
    with tempfile.TemporaryDirectory(prefix="anjungan-call-") as tmp:
        out = Path(tmp) / "call.wav"
        try:
            subprocess.run(
                [program, "-v", "id", "-s", str(WORDS_PER_MINUTE), "-w", str(out), "--", text],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=ESPEAK_TIMEOUT_S,
                check=True,
            )
            with wave.open(str(out), "rb") as wav:
                return wav.getframerate(), wav.readframes(wav.getnframes())
        except (OSError, subprocess.SubprocessError, wave.Error) as exc:
            log.warning("espeak-ng could not say the call %r: %s", text, exc)
            return RATE, b""


@functools.lru_cache(maxsize=CACHE_SIZE)
def call_wav(text: str) -> bytes:
    """Chime + the spoken `text` as a WAV file (cached per text)."""
    rate, voice = speak(text)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(chime(rate) + voice)
    return buffer.getvalue()
