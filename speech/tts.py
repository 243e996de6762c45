"""Text to speech: pyttsx3 driving espeak-ng (the espeakng-loader wheel ships the library
and its data), cached on disk as 8 kHz mu-law keyed by (text, voice, rate).

pyttsx3 2.99 drops and shifts files when several save_to_file calls share one runAndWait,
so each prompt gets its own engine run and its file is checked before it is cached.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import os
import tempfile
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from speech.audio import TELEPHONE_RATE, read_wav, to_telephone

# espeak-ng voices and speaking rates per language. The seeds ask for 180-200 Chinese
# characters a minute; espeak's rate is in words (here: syllables) per minute.
VOICES = {"zh-CN": "sit/cmn", "en-US": "gmw/en-us", "ko-KR": "ko"}
RATES = {"zh-CN": 190, "en-US": 165, "ko-KR": 170}
PLAUSIBLE_SPEED = (0.3, 3.0)  # rendered duration / expected duration


class SynthesisError(RuntimeError):
    pass


_engine = None
_engine_lock = threading.Lock()  # espeak-ng is one engine per process: one prompt at a time


def _load_engine():
    global _engine
    if _engine is None:
        import espeakng_loader

        # Load the wheel's libespeak-ng under its soname, so pyttsx3's own dlopen finds it.
        ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_GLOBAL)
        os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())
        import pyttsx3

        _engine = pyttsx3.init("espeak")
    return _engine


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
    """(16-bit samples, sample rate) of one prompt, checked."""
    with _engine_lock:
        engine = _load_engine()
        engine.setProperty("voice", voice)
        engine.setProperty("rate", rate)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "prompt.wav")
            with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints "Audio saved to ..."
                engine.save_to_file(text, path)
                engine.runAndWait()
            if not os.path.exists(path):
                raise SynthesisError(f"espeak-ng wrote no audio for {text!r}")
            samples, sample_rate = read_wav(Path(path).read_bytes())
    check_rendering(text, rate, samples, sample_rate)
    return samples, sample_rate


@dataclass
class PromptCache:
    """Rendered prompts on disk as 8 kHz mu-law; each (text, voice, rate) is rendered once."""

    folder: Path
    hits: int = 0
    misses: int = 0

    def key(self, text: str, voice: str, rate: int) -> str:
        return hashlib.sha256(f"{voice}\n{rate}\n{text}".encode()).hexdigest()[:32]

    def audio(self, text: str, language: str, rate: int | None = None) -> bytes:
        voice, rate = VOICES[language], rate or RATES[language]
        path = self.folder / f"{self.key(text, voice, rate)}.ulaw"
        if path.exists():
            self.hits += 1
            return path.read_bytes()
        self.misses += 1
        samples, sample_rate = synthesize(text, voice, rate)
        mulaw = to_telephone(samples, sample_rate)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(mulaw)
        partial.replace(path)  # atomic: another process never reads half a file
        return mulaw


def seconds_of(mulaw: bytes) -> float:
    return len(mulaw) / TELEPHONE_RATE
