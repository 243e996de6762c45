"""Text to speech: pyttsx3 driving espeak-ng (the espeakng-loader wheel ships the library
and its data), cached on disk as 8 kHz mu-law keyed by (text, voice, rate).

pyttsx3 2.99 drops and shifts files when several save_to_file calls share one runAndWait,
so each prompt gets its own engine run and its file is checked before it is cached.
A number read back in groups ("S F 1 2, 3 4 5 6") is joined from cached clips of each
character, as IVRs speak numbers: a read-back never waits for the synthesiser.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
import wave
from dataclasses import dataclass
from pathlib import Path

from speech.audio import read_wav, silence, to_telephone, trim_silence

# espeak-ng voices and speaking rates per language. The seeds ask for 180-200 Chinese
# characters a minute; espeak's rate is in words (here: syllables) per minute.
VOICES = {"zh-CN": "sit/cmn", "en-US": "gmw/en-us", "ko-KR": "ko"}
RATES = {"zh-CN": 190, "en-US": 165, "ko-KR": 170}
PLAUSIBLE_SPEED = (0.3, 3.0)  # rendered duration / expected duration
# Five or more single characters apart, as the prompts' {x:groups} format writes a waybill.
SPELLED = re.compile(r"(?<!\w)[0-9A-Z](?:[ ,，]+[0-9A-Z]){4,}(?!\w)")
SPELLED_CHARACTERS = "0123456789ABCDEFJMNSTY"  # digits and the letters of carriers' waybills
CHARACTER_GAP_S, GROUP_GAP_S = 0.06, 0.3


class SynthesisError(RuntimeError):
    pass


RENDER_TIMEOUT_S = 30
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def speech_units(text: str) -> int:
    """Syllables to expect: one per CJK or Hangul character, else one per word."""
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) == "W" and ch.isalnum())
    narrow_words = len("".join(ch if ch.isascii() and ch.isalnum() else " " for ch in text).split())
    return max(1, wide + narrow_words)


def check_rendering(text: str, rate: int, samples, sample_rate: int) -> None:
    """Raise SynthesisError when audio cannot be this text's (empty, or far too long or short)."""
    seconds = len(samples) / sample_rate
    expected = speech_units(text) / (rate / 60)
    low, high = PLAUSIBLE_SPEED
    if seconds < 0.1 or not (low * expected <= seconds <= high * expected + 1.0):
        raise SynthesisError(f"{seconds:.2f} s of audio for {speech_units(text)} syllables at rate {rate}: "
                             f"expected about {expected:.2f} s")


def synthesize(text: str, voice: str, rate: int):
    """(16-bit samples, sample rate) of one prompt, checked.

    Each prompt is rendered by its own short-lived engine process (python -m speech.tts):
    pyttsx3's driver keeps state between runs that can write one prompt's audio late, into
    another's file; a process per prompt cannot, and never blocks this one's threads.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "prompt.wav")
        try:
            completed = subprocess.run(
                [sys.executable, "-m", "speech.tts", voice, str(rate), path], input=text, text=True,
                capture_output=True, timeout=RENDER_TIMEOUT_S, cwd=PROJECT_ROOT,
            )
        except subprocess.TimeoutExpired:
            raise SynthesisError(f"espeak-ng took over {RENDER_TIMEOUT_S} s for {text!r}") from None
        if completed.returncode != 0 or not os.path.exists(path):
            raise SynthesisError(f"espeak-ng wrote no audio for {text!r}: {completed.stderr.strip()[-300:]}")
        samples, sample_rate = read_wav(Path(path).read_bytes())
    check_rendering(text, rate, samples, sample_rate)
    return samples, sample_rate


def _render(voice: str, rate: int, path: str, text: str) -> None:
    """One engine run for one prompt (in the child process)."""
    import espeakng_loader

    # Load the wheel's libespeak-ng under its soname, so pyttsx3's own dlopen finds it.
    ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_GLOBAL)
    os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())
    import pyttsx3

    engine = pyttsx3.init("espeak")
    engine.setProperty("voice", voice)
    engine.setProperty("rate", rate)
    with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
        engine.save_to_file(text, path)
        engine.runAndWait()
        # espeak-ng synthesises on its own thread; runAndWait can return before the last
        # callback has written the file, so wait for a complete WAV before exiting.
        deadline = time.monotonic() + RENDER_TIMEOUT_S
        while not _complete_wav(path) and time.monotonic() < deadline:
            time.sleep(0.01)


def _complete_wav(path: str) -> bool:
    try:
        with wave.open(path) as wav:
            return os.path.getsize(path) >= 44 + wav.getnframes() * wav.getsampwidth() > 44
    except (OSError, EOFError, wave.Error):
        return False


@dataclass
class PromptCache:
    """Rendered prompts on disk as 8 kHz mu-law; each (text, voice, rate) is rendered once."""

    folder: Path
    hits: int = 0
    misses: int = 0
    warming: threading.Thread | None = None  # rendering character clips a read-back lacked

    def key(self, text: str, voice: str, rate: int) -> str:
        return hashlib.sha256(f"{voice}\n{rate}\n{text}".encode()).hexdigest()[:32]

    def _path(self, text: str, voice: str, rate: int, trimmed: bool) -> Path:
        return self.folder / f"{self.key(text, voice, rate)}{'-trimmed' if trimmed else ''}.ulaw"

    def audio(self, text: str, language: str, rate: int | None = None) -> bytes:
        voice, rate = VOICES[language], rate or RATES[language]
        spelled = SPELLED.search(text)
        if spelled is None:
            return self._rendered(text, voice, rate)
        before, after = text[:spelled.start()], text[spelled.end():]
        # Punctuation alone around the number ("。") has nothing to say.
        parts = [self._rendered(before, voice, rate)] if any(c.isalnum() for c in before) else []
        parts.append(self._spelled(spelled.group(), voice, rate))
        if any(c.isalnum() for c in after):
            parts.append(self.audio(after, language, rate))
        return b"".join(parts)

    def character(self, char: str, language: str) -> bytes:
        """One character's clip, without the silence around it."""
        return self._rendered(char, VOICES[language], RATES[language], trimmed=True)

    def _spelled(self, run: str, voice: str, rate: int) -> bytes:
        missing = sorted({c for c in run if c.isalnum() and not self._path(c, voice, rate, True).exists()})
        if missing:
            # Rendering the clips one by one now would keep the caller waiting: say the run in
            # one rendering, and have the clips ready for the next caller.
            self.warming = threading.Thread(target=lambda: [self._rendered(c, voice, rate, trimmed=True)
                                                            for c in missing], daemon=True, name="clips")
            self.warming.start()
            return self._rendered(run, voice, rate)
        parts = []
        for char in run:
            if char.isalnum():
                parts.append(self._rendered(char, voice, rate, trimmed=True))
            elif char in ",，":
                parts.append(silence(GROUP_GAP_S))
            elif char == " ":
                parts.append(silence(CHARACTER_GAP_S))
        return silence(GROUP_GAP_S) + b"".join(parts) + silence(GROUP_GAP_S)

    def _rendered(self, text: str, voice: str, rate: int, *, trimmed: bool = False) -> bytes:
        path = self._path(text, voice, rate, trimmed)
        from metrics import TTS_CACHE

        if path.exists():
            self.hits += 1
            TTS_CACHE.labels("hit").inc()
            return path.read_bytes()
        self.misses += 1
        TTS_CACHE.labels("rendered").inc()
        samples, sample_rate = synthesize(text, voice, rate)
        mulaw = to_telephone(samples, sample_rate)
        if trimmed:
            mulaw = trim_silence(mulaw) or mulaw
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(mulaw)
        partial.replace(path)  # atomic: another process never reads half a file
        return mulaw


def prerender(catalogue, cache: PromptCache, variables: dict, input_mode: str) -> int:
    """Render every prompt a line of this input mode plays that needs no call's data (greeting,
    menus…) and the characters numbers are read back with, so calls never wait."""
    from flows.errors import PromptError

    for char in SPELLED_CHARACTERS:
        cache.character(char, catalogue.language)
    rendered = len(SPELLED_CHARACTERS)
    for key in catalogue.played_keys(input_mode):
        try:
            text = catalogue.render(key, variables)
        except PromptError:
            continue  # needs a parcel, ticket or number: rendered once when first spoken
        cache.audio(text, catalogue.language)
        rendered += 1
    return rendered


if __name__ == "__main__":
    # python -m speech.tts VOICE RATE OUT.wav < text
    _render(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.stdin.read())
