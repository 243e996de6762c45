"""A streaming recogniser for one call step: 8 kHz PCM in, N-best results out.

Restricted by a grammar (the words the step expects), so "一" is not heard as "衣".
Vosk's endpointer (the model's trailing-silence rules) ends an utterance; `max_seconds`
ends one that never stops. Vosk's C calls release the GIL, so calls in other threads go on.
Until the caller makes a sound the decoder is not fed at all (a caller is silent most of a
call, and decoding silence costs as much as decoding speech); the last PRE_ROLL_S of quiet
audio goes in with the first loud frame, so no word loses its start.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from speech.audio import TELEPHONE_RATE, is_voice

UNKNOWN_WORD = "[unk]"
PRE_ROLL_S = 0.3


@dataclass(frozen=True)
class Recognition:
    alternatives: tuple[str, ...]  # best first; empty when nothing was said
    confidences: tuple[float, ...]

    @property
    def text(self) -> str:
        return self.alternatives[0] if self.alternatives else ""


def grammar_for(model, words) -> list[str]:
    """The step's words that the model knows, plus [unk] to soak up anything else."""
    known = [w for w in dict.fromkeys(words) if model.vosk_model_find_word(w) >= 0]
    if model.vosk_model_find_word(UNKNOWN_WORD) >= 0:
        known.append(UNKNOWN_WORD)
    return known


class StreamRecognizer:
    def __init__(self, model, words, *, alternatives: int = 5, max_seconds: float = 15.0):
        from vosk import KaldiRecognizer

        grammar = json.dumps(grammar_for(model, words), ensure_ascii=False)
        self._recognizer = KaldiRecognizer(model, TELEPHONE_RATE, grammar)
        self._recognizer.SetMaxAlternatives(alternatives)
        self._max_bytes = int(max_seconds * TELEPHONE_RATE * 2)
        self._fed = 0
        self._quiet: list[bytes] | None = []  # the pre-roll, until the caller makes a sound
        self._pre_roll_bytes = int(PRE_ROLL_S * TELEPHONE_RATE * 2)
        self.heard_speech = False

    def accept(self, pcm: bytes) -> Recognition | None:
        """Feed 16-bit PCM; a Recognition when the utterance has ended, else None."""
        if self._quiet is not None:
            self._quiet.append(pcm)
            if not is_voice(np.frombuffer(pcm, dtype=np.int16)):
                while sum(map(len, self._quiet)) > self._pre_roll_bytes:
                    self._quiet.pop(0)
                return None
            pcm, self._quiet = b"".join(self._quiet), None
        self._fed += len(pcm)
        if self._recognizer.AcceptWaveform(pcm):
            return self._parse(self._recognizer.Result())
        if not self.heard_speech:
            partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
            self.heard_speech = bool(partial.replace(UNKNOWN_WORD, "").strip())
        if self._fed >= self._max_bytes:
            return self.finish()
        return None

    def finish(self) -> Recognition:
        return self._parse(self._recognizer.FinalResult())

    @staticmethod
    def _parse(raw: str) -> Recognition:
        result = json.loads(raw)
        alternatives = result.get("alternatives") or [{"text": result.get("text", ""), "confidence": 0.0}]
        texts, confidences = [], []
        for alternative in alternatives:
            text = " ".join(w for w in alternative.get("text", "").split() if w != UNKNOWN_WORD)
            if text and text not in texts:
                texts.append(text)
                confidences.append(float(alternative.get("confidence", 0.0)))
        return Recognition(tuple(texts), tuple(confidences))
