"""A caller's message (a survey comment, a suggestion, an address): recorded from the call's
audio, ended by silence after speech or a length limit, kept as a WAV file and transcribed
offline by the language's recogniser where one is installed."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from speech.audio import TELEPHONE_RATE, is_voice, write_wav
from speech.recognizer import UNKNOWN_WORD


class CallRecording:
    def __init__(self, model, *, max_seconds: float, silence_seconds: float):
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._max_samples = int(max_seconds * TELEPHONE_RATE)
        self._silence_samples = int(silence_seconds * TELEPHONE_RATE)
        self._quiet = 0
        self.heard_speech = False
        self._recognizer = None
        self._words: list[str] = []
        if model is not None:
            from vosk import KaldiRecognizer

            self._recognizer = KaldiRecognizer(model, TELEPHONE_RATE)  # free speech: no grammar

    def accept(self, pcm: np.ndarray) -> bool:
        """Feed 16-bit samples; True once the message has ended (silence after speech, or the limit)."""
        self._chunks.append(pcm)
        self._samples += len(pcm)
        loud = is_voice(pcm)
        self.heard_speech = self.heard_speech or loud
        self._quiet = 0 if loud else self._quiet + len(pcm)
        if self._recognizer is not None and self._recognizer.AcceptWaveform(pcm.tobytes()):
            self._add_words(self._recognizer.Result())
        return self._samples >= self._max_samples or (self.heard_speech and self._quiet >= self._silence_samples)

    @property
    def seconds(self) -> float:
        return self._samples / TELEPHONE_RATE

    def transcript(self) -> str:
        if self._recognizer is not None:
            self._add_words(self._recognizer.FinalResult())
            self._recognizer = None
        return " ".join(self._words)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(write_wav(np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16),
                                   TELEPHONE_RATE))
        return path

    def _add_words(self, raw: str) -> None:
        self._words += [w for w in json.loads(raw).get("text", "").split() if w != UNKNOWN_WORD]

