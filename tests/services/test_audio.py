"""Audio guidance: real espeak-ng writing WAV files, interruption, silence without a device."""

from __future__ import annotations

import logging
import shutil
import stat
import time
import wave
from pathlib import Path

import pytest

from kiosk_app.domain.text import Text
from kiosk_app.services.audio import AudioGuidance, mode_from_env

PROMPT = Text("Tempelkan e-KTP Anda pada pembaca.", "Place your e-KTP on the reader.")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt: espeak-ng")


@needs_espeak
def test_wav_mode_writes_indonesian_speech(tmp_path: Path) -> None:
    audio = AudioGuidance("wav", wav_dir=tmp_path)
    try:
        audio.say(PROMPT, "id")
        assert audio.wait_idle(20)
        [said] = audio.history
        assert said.words == "Tempelkan e ka-te-pe Anda pada pembaca."
        assert said.wav is not None and said.wav.is_file()
        with wave.open(str(said.wav)) as wav:
            assert wav.getnframes() / wav.getframerate() > 1.0  # a real sentence, not silence
        audio.say(PROMPT, "en")
        assert audio.wait_idle(20)
        assert audio.history[-1].words == "Place your e K T P on the reader."
        assert audio.history[-1].wav is not None
    finally:
        audio.close()


def _slow_espeak(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in synthesiser that speaks for 30 s and notes when it is cut off (its trap set
    before it notes the start: a cut right after "start" is noted too)."""
    log = tmp_path / "calls.log"
    script = tmp_path / "espeak-ng"
    script.write_text(
        "#!/bin/sh\n"
        "for last; do :; done\n"
        f"trap 'kill $! 2>/dev/null; echo \"cut $last\" >> {log}; exit 0' TERM\n"
        f'echo "start $last" >> {log}\n'
        "sleep 30 & wait\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def test_newest_prompt_cuts_off_the_one_being_spoken(tmp_path: Path) -> None:
    script, log = _slow_espeak(tmp_path)
    audio = AudioGuidance("speaker", espeak=str(script), device_present=lambda: True)
    try:
        audio.say(Text("satu", "one"), "id")
        deadline = time.monotonic() + 60
        while not (log.exists() and "start satu" in log.read_text()):
            assert time.monotonic() < deadline, "the first prompt never started"
            time.sleep(0.02)
        audio.say(Text("dua", "two"), "id")
        audio.say(Text("tiga", "three"), "id")  # "dua" is skipped: "tiga" is newer
        deadline = time.monotonic() + 60
        while "start tiga" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        lines = log.read_text().splitlines()
        assert lines[:3] == ["start satu", "cut satu", "start tiga"]
        assert audio.last == (Text("tiga", "three"), "id")
    finally:
        audio.close()
    assert "cut tiga" in log.read_text()  # closing stops speech too


def test_silent_without_espeak_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    audio = AudioGuidance("auto", espeak="/nonexistent/espeak-ng")
    audio._espeak = None  # as when `which` finds nothing
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk_app.services.audio"):
            for _ in range(3):
                audio.say(PROMPT, "id")
                assert audio.wait_idle(10)
        assert [r.message for r in caplog.records] == [
            "audio guidance is silent: espeak-ng is not installed"
        ]
        assert audio.spoken_words()[-1] == "Tempelkan e ka-te-pe Anda pada pembaca."
    finally:
        audio.close()


@needs_espeak
def test_silent_without_audio_device_and_repeat(caplog: pytest.LogCaptureFixture) -> None:
    audio = AudioGuidance("auto", device_present=lambda: False)
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk_app.services.audio"):
            audio.say(PROMPT, "id")
            audio.say(Text("Laki-laki dipilih", "Male chosen"), "id", remember=False)
            audio.repeat()
            assert audio.wait_idle(10)
        assert audio.spoken_words()[-1] == "Tempelkan e ka-te-pe Anda pada pembaca."
        assert sum("no audio device" in r.message for r in caplog.records) == 1
    finally:
        audio.close()


def test_off_mode_and_env_switch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    audio = AudioGuidance("off")
    audio.say(PROMPT, "id")
    assert audio.wait_idle(1)
    assert audio._thread is None
    assert audio.spoken_words() == ["Tempelkan e ka-te-pe Anda pada pembaca."]
    audio.close()
    monkeypatch.setenv("ANJUNGAN_AUDIO", f"wav:{tmp_path}")
    assert mode_from_env() == ("wav", tmp_path)
    monkeypatch.setenv("ANJUNGAN_AUDIO", "off")
    assert mode_from_env() == ("off", None)
    with pytest.raises(ValueError):
        AudioGuidance("loud")
