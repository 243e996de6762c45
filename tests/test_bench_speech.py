"""bench.speech's false-correction database and outcome, and bench.callbacks' pacing figures: no audio, no servers."""
from __future__ import annotations

import random

from bench.callbacks import busiest_window, failed
from bench.speech import NEIGHBOURS_KNOWN, correction_outcome, false_correction_lookup, owner, random_waybill, said
from tracking.carriers import keyed_digits


def test_the_false_correction_database_holds_neighbours_and_never_the_truth():
    rng = random.Random(1)
    # Not EMS: an S10 neighbour's check digit changes with its serial (two digits apart).
    truths = [w for w in (random_waybill(rng) for _ in range(40)) if not w.endswith("CN")][:20]
    lookup, held = false_correction_lookup(truths, 500, rng)
    assert held >= 500
    assert not lookup({keyed_digits(t) for t in truths})
    for n, truth in enumerate(truths):
        digits = keyed_digits(truth)
        near = [ref for refs in lookup({d for d in _one_substitution(digits)}).values() for ref in refs]
        assert len([r for r in near if owner(truth) not in r.phones]) == NEIGHBOURS_KNOWN
        assert any(owner(truth) in r.phones for r in near) == (n % 2 == 0)


def test_correction_outcomes():
    rng = random.Random(2)
    truths = [w for w in (random_waybill(rng) for _ in range(20)) if not w.endswith("CN")][:10]
    lookup, _ = false_correction_lookup(truths, 100, rng)
    truth = truths[0]  # its caller owns a neighbour: the truth heard exactly is corrected to it
    assert correction_outcome([said(keyed_digits(truth), "ko-KR")], "ko-KR", lookup, truth) == "own"
    other = next(ref.waybill for refs in lookup(_one_substitution(keyed_digits(truths[1]))).values()
                 for ref in refs if owner(truths[1]) not in ref.phones)
    assert correction_outcome([said(keyed_digits(other), "ko-KR")], "ko-KR", lookup, truths[1]) == "misheard"
    # Heard as itself first, someone else's parcel second: the ranker keeps to what was heard.
    heard = [said(keyed_digits(truths[1]), "ko-KR"), said(keyed_digits(other), "ko-KR")]
    assert correction_outcome(heard, "ko-KR", lookup, truths[1]) == ""


def test_callbacks_fail_when_pacing_never_bound():
    figures = {"lost": 0, "doubled": 0, "pacing_respected": True, "pacing_bound": True}
    assert not failed(figures)
    assert failed({**figures, "pacing_bound": False})
    assert failed({**figures, "pacing_respected": False})
    assert busiest_window([0.0, 0.5, 0.99, 1.0, 1.5, 3.0], 1.0) == 3


def _one_substitution(digits: str) -> set[str]:
    return {digits[:i] + d + digits[i + 1:] for i in range(len(digits)) for d in "0123456789" if d != digits[i]}


def test_recordings_come_from_a_manifest_and_a_bad_row_names_its_line(tmp_path):
    """--manifest: the caller's own recordings (any rate, stereo too) as telephone audio."""
    import numpy as np
    import pytest

    from bench.speech import manifest_items
    from speech.audio import write_wav

    (tmp_path / "one.wav").write_bytes(write_wav(np.zeros(16000), 16000))  # a second at 16 kHz
    manifest = tmp_path / "recordings.csv"
    manifest.write_text("path,waybill\none.wav, sf1234567890123\n", encoding="utf-8")
    [(waybill, audio)] = manifest_items(manifest)
    assert waybill == "SF1234567890123" and len(audio) == 8000  # 8 kHz mu-law, a byte a sample
    manifest.write_text("path,waybill\none.wav,SF1234567890123\nmissing.wav,SF1\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"recordings.csv:3: .*missing.wav"):
        manifest_items(manifest)
    manifest.write_text("file,number\none.wav,SF1\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="needs the columns path and waybill"):
        manifest_items(manifest)
