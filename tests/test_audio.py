"""mu-law and resampling against G.711 known answers and signal properties."""
from __future__ import annotations

import numpy as np
import pytest

from speech.audio import FRAME_BYTES, frames, mulaw_decode, mulaw_encode, resample


def test_g711_known_answers():
    # G.711 mu-law: 0xFF and 0x7F are zero, 0x00 is the most negative, 0x80 the most positive.
    assert mulaw_decode(bytes([0xFF, 0x7F, 0x00, 0x80])).tolist() == [0, 0, -32124, 32124]
    assert mulaw_encode(np.array([0, -32768, 32767, 1000, -1000])) == bytes([0xFF, 0x00, 0x80, 0xCE, 0x4E])
    # Negative values round as the reference coder's arithmetic shift does (these are the
    # codes CPython's audioop.lin2ulaw gave; the encoder matched it on all 65,536 inputs).
    assert mulaw_encode(np.array([-1, -3, -31611, -31608])) == bytes([0x7E, 0x7E, 0x00, 0x01])


def test_every_code_survives_a_round_trip():
    codes = bytes(range(256))
    decoded = mulaw_decode(codes)
    again = mulaw_encode(decoded)
    # 0x7F (negative zero) encodes back as 0xFF (positive zero); every other code is exact.
    assert [c for c, a in zip(codes, again, strict=True) if c != a] == [0x7F]


def test_quantisation_error_is_small_relative_to_the_signal():
    samples = (np.sin(np.linspace(0, 40 * np.pi, 8000)) * 20000).astype(np.int16)
    error = mulaw_decode(mulaw_encode(samples)).astype(float) - samples
    assert np.sqrt(np.mean(error ** 2)) / np.sqrt(np.mean(samples.astype(float) ** 2)) < 0.03


def tone(frequency, rate, seconds=1.0):
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * frequency * t) * 10000).astype(np.int16)


def energy(samples):
    return float(np.mean(samples.astype(float) ** 2))


@pytest.mark.parametrize("source, target", [(22050, 8000), (16000, 8000), (8000, 16000), (44100, 8000)])
def test_resampling_keeps_length_and_in_band_tones(source, target):
    out = resample(tone(440, source), source, target)
    assert abs(len(out) - target) <= 1
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * target / len(out) - 440) < 5


def test_downsampling_removes_tones_above_the_new_nyquist():
    aliased = resample(tone(6000, 22050), 22050, 8000)  # would fold to 2000 Hz without filtering
    assert energy(aliased) < 0.02 * energy(tone(6000, 22050))


def test_frames_are_20ms_and_padded_with_silence():
    chunks = frames(b"\x00" * 400)
    assert [len(c) for c in chunks] == [FRAME_BYTES] * 3
    assert chunks[-1][80:] == b"\xff" * 80
