"""Telephone audio: G.711 mu-law and resampling, in numpy (audioop left Python in 3.13).

Twilio Media Streams carry 8 kHz mono mu-law in 20 ms frames (160 bytes).
"""
from __future__ import annotations

import functools
import io
import wave

import numpy as np

TELEPHONE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = TELEPHONE_RATE * FRAME_MS // 1000  # one mu-law byte per sample
MULAW_BIAS = 0x84
MULAW_CLIP14 = 8159
# A 20 ms frame louder than this (RMS of 16-bit samples) is the caller talking; telephone
# line noise sits far below it, speech around 1,000-8,000.
VOICE_RMS = 400


def is_voice(samples: np.ndarray) -> bool:
    """Is this stretch of 16-bit audio loud enough to be someone talking?"""
    return len(samples) > 0 and float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > VOICE_RMS


def _decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + MULAW_BIAS) << exponent
    return np.where(sign, MULAW_BIAS - magnitude, magnitude - MULAW_BIAS).astype(np.int16)


_DECODE = _decode_table()


def mulaw_decode(data: bytes) -> np.ndarray:
    """mu-law bytes -> 16-bit linear PCM samples."""
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]


def mulaw_encode(samples: np.ndarray) -> bytes:
    """16-bit linear PCM samples -> mu-law bytes, as G.711's reference coder (on 14 bits)."""
    pcm14 = np.asarray(samples, dtype=np.int32) >> 2
    mask = np.where(pcm14 < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm14), MULAW_CLIP14) + (MULAW_BIAS >> 2)
    segment = np.maximum(np.floor(np.log2(magnitude)).astype(np.int32) - 5, 0)
    code = (np.minimum(segment, 7) << 4) | ((magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F)
    code = np.where(segment > 7, 0x7F, code)  # beyond the last segment: the largest code
    return (code ^ mask).astype(np.uint8).tobytes()


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling: a windowed-sinc low-pass below the lower Nyquist, then interpolation."""
    if source_rate == target_rate or len(samples) == 0:
        return np.asarray(samples, dtype=np.int16)
    signal = np.asarray(samples, dtype=np.float64)
    if target_rate < source_rate:
        signal = _low_pass(signal, cutoff=0.45 * target_rate / source_rate)
    count = int(round(len(signal) * target_rate / source_rate))
    positions = np.arange(count) * (source_rate / target_rate)
    resampled = np.interp(positions, np.arange(len(signal)), signal)
    return np.clip(np.round(resampled), -32768, 32767).astype(np.int16)


def _low_pass(signal: np.ndarray, cutoff: float, taps: int = 101) -> np.ndarray:
    """cutoff as a fraction of the sample rate."""
    n = np.arange(taps) - (taps - 1) / 2
    kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    return np.convolve(signal, kernel / kernel.sum(), mode="same")


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Mono 16-bit samples and the rate of a WAV file (stereo is mixed down)."""
    with wave.open(io.BytesIO(data)) as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("only 16-bit PCM WAV files are supported")
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        if wav.getnchannels() > 1:
            samples = samples.reshape(-1, wav.getnchannels()).mean(axis=1).astype(np.int16)
        return samples, wav.getframerate()


def write_wav(samples: np.ndarray, rate: int) -> bytes:
    """Mono 16-bit samples as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.asarray(samples, dtype=np.int16).tobytes())
    return buffer.getvalue()


def to_telephone(samples: np.ndarray, rate: int) -> bytes:
    """Any-rate PCM -> 8 kHz mu-law, as a carrier sends it."""
    return mulaw_encode(resample(samples, rate, TELEPHONE_RATE))


def silence(seconds: float) -> bytes:
    return b"\xff" * int(seconds * TELEPHONE_RATE)  # mu-law's code for zero


def trim_silence(mulaw: bytes, threshold: int = 300) -> bytes:
    """mu-law audio without its leading and trailing near-silence."""
    loud = np.flatnonzero(np.abs(mulaw_decode(mulaw).astype(np.int32)) > threshold)
    return mulaw[loud[0]:loud[-1] + 1] if loud.size else b""


def frames(mulaw: bytes) -> list[bytes]:
    """20 ms frames; the last is padded with mu-law silence (0xFF)."""
    padded = mulaw + b"\xff" * (-len(mulaw) % FRAME_BYTES)
    return [padded[i:i + FRAME_BYTES] for i in range(0, len(padded), FRAME_BYTES)]


@functools.cache
def hold_music() -> tuple[bytes, ...]:
    """What a caller on hold hears, as 20 ms mu-law frames to loop: a slow, soft four-note chime
    (C E G E, each note fading out), so they know the line is still open."""
    note_s, notes_hz = 0.6, (523.25, 659.25, 783.99, 659.25)
    t = np.arange(int(note_s * TELEPHONE_RATE)) / TELEPHONE_RATE
    fade = np.exp(-3 * t / note_s)
    tune = np.concatenate([np.sin(2 * np.pi * hz * t) * fade for hz in notes_hz])
    return tuple(frames(mulaw_encode(np.round(tune * 6000).astype(np.int16))))


@functools.cache
def hold_music_wav() -> bytes:
    """The hold music as a WAV file (8 kHz, 16-bit): what a carrier's <Play> fetches."""
    return write_wav(mulaw_decode(b"".join(hold_music())), TELEPHONE_RATE)
