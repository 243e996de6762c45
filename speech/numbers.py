"""Spoken digits and letters -> the characters of a waybill, for Mandarin, English and Korean.

Recognisers return words; callers say digits the way they say phone numbers: Mandarin
幺 for 1, 两 for 2, 洞 for 0; English "oh", "double five", "triple seven"; Korean 공/영 for 0.
Words that are neither digits nor letters ("嗯", "um", "[unk]") are dropped.
"""
from __future__ import annotations

import re

DIGITS = {
    "zh-CN": {
        "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "妖": "1", "二": "2", "两": "2",
        "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
    },
    "en-US": {
        "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2", "three": "3",
        "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    },
    "ko-KR": {
        "영": "0", "공": "0", "일": "1", "이": "2", "삼": "3", "사": "4", "오": "5", "육": "6", "륙": "6",
        "칠": "7", "팔": "8", "구": "9",
    },
}
# Letters that begin waybills (SF, YT, JD, JT and S10's two-letter prefixes and CN suffix).
LETTERS = {
    "zh-CN": {"艾斯": "S", "爱斯": "S", "艾弗": "F", "杰": "J", "迪": "D", "伊": "E", "艾姆": "M", "歪": "Y", "替": "T"},
    "en-US": {"es": "S", "ess": "S", "ef": "F", "eff": "F", "jay": "J", "dee": "D", "e": "E", "em": "M",
              "why": "Y", "tee": "T", "see": "C", "en": "N", "ay": "A"},
    "ko-KR": {"에스": "S", "에프": "F", "제이": "J", "디": "D", "엠": "M", "와이": "Y", "티": "T", "씨": "C", "엔": "N"},
}
REPEATS = {"en-US": {"double": 2, "triple": 3}}
# Single Latin letters as recognisers spell them ("s", "f" or "S").
_LATIN = re.compile(r"^[a-zA-Z]$")


def grammar_words(language: str, kind: str) -> list[str]:
    """The words a recogniser may hear when a caller says a waybill number, or only digits."""
    if kind not in ("waybill", "digits"):
        raise ValueError(f"no number grammar {kind!r}")
    words = list(DIGITS[language]) + list(REPEATS.get(language, {}))
    if kind == "digits":
        return words
    words += list(LETTERS[language])
    if language == "en-US":
        words += [chr(c) for c in range(ord("a"), ord("z") + 1) if chr(c) not in words]
    return words


def _tokens(text: str, language: str) -> list[str]:
    if language == "zh-CN":
        # Mandarin recognisers may join digits into one word ("幺三八"): split characters,
        # keeping the multi-character letter names whole.
        tokens = []
        for word in text.split():
            if word in LETTERS[language]:
                tokens.append(word)
            else:
                tokens.extend(word)
        return tokens
    return text.lower().split() if language == "en-US" else text.split()


def normalise(text: str, language: str) -> str:
    """'幺三八 洞 两' -> '13802'; 'double five oh' -> '550'; 'es ef one' -> 'SF1'."""
    digits, letters, repeats = DIGITS[language], LETTERS[language], REPEATS.get(language, {})
    result: list[str] = []
    pending = 1
    for token in _tokens(text, language):
        if token in repeats:
            pending = repeats[token]
            continue
        if token.isdigit() and token.isascii():
            char = token
        elif token in digits:
            char = digits[token]
        elif token in letters:
            char = letters[token]
        elif _LATIN.match(token):
            char = token.upper()
        else:
            pending = 1
            continue
        result.append(char * pending)
        pending = 1
    return "".join(result)
