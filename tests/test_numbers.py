"""Spoken numbers in Mandarin, English and Korean -> waybill characters."""
from __future__ import annotations

import pytest

from speech.numbers import grammar_words, normalise


@pytest.mark.parametrize("text, expected", [
    ("幺 三 八 洞 洞 幺 三 八 洞 洞 洞", "13800138000"),
    ("一三八零零一三八零零零", "13800138000"),       # joined into one word
    ("两 拐 勾", "279"),
    ("二 七 九 〇", "2790"),
    ("艾斯 艾弗 一 二 三", "SF123"),
    ("s f 一 二", "SF12"),
    ("嗯 就是 七 七 一", "771"),                     # filler dropped
])
def test_mandarin(text, expected):
    assert normalise(text, "zh-CN") == expected


@pytest.mark.parametrize("text, expected", [
    ("one three eight oh oh", "13800"),
    ("double five nine", "559"),
    ("triple seven two", "7772"),
    ("es ef one two", "SF12"),
    ("S F 1 2", "SF12"),
    ("j d zero zero one", "JD001"),
    ("um seven seven", "77"),
    ("double um five", "5"),                         # a repeat applies to the next digit only
    ("e a one two three c n", "EA123CN"),
])
def test_english(text, expected):
    assert normalise(text, "en-US") == expected


@pytest.mark.parametrize("text, expected", [
    ("공 일 공 이 삼", "01023"),
    ("영 육 륙 칠 팔 구", "066789"),
    ("에스 에프 일 이", "SF12"),
    ("[unk] 사 오", "45"),
])
def test_korean(text, expected):
    assert normalise(text, "ko-KR") == expected


def test_grammars_hold_every_digit_word():
    for language in ("zh-CN", "en-US", "ko-KR"):
        words = grammar_words(language, "waybill")
        assert {normalise(w, language) for w in words} >= set("0123456789")
