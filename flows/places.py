"""Chinese names (scan locations, branches, pickup points, the brand) as a caller of another
language can hear them: the words a facility is called by in English ("转运中心" -> "Sorting
Center"), and every other Chinese character in pinyin (pypinyin), so "武汉转运中心" is read
"Wuhan Sorting Center" rather than skipped or spelled out by an English voice.

Chinese callers hear the names as written."""
from __future__ import annotations

import re

from pypinyin import lazy_pinyin

from network.provinces import ENGLISH as PROVINCES_IN_ENGLISH

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# What a facility or a part of an address is, said in English after its name (longest first).
FACILITY_WORDS = {
    "转运中心": "Sorting Center", "分拨中心": "Distribution Center", "集散中心": "Hub", "营业部": "Office",
    "菜鸟驿站": "Cainiao Station", "丰巢快递柜": "Hive Box Locker", "快递柜": "Parcel Locker", "驿站": "Station",
    "网点": "Branch", "快递": "Express", "小区": "Estate", "南门": "South Gate", "北门": "North Gate",
    "东门": "East Gate", "西门": "West Gate", "大道": "Avenue", "路": "Road", "街": "Street", "号": "",
    "幢": "Building", "栋": "Building",
    "市": "", "区": "District", "省": "Province", "县": "County",
}
_FACILITY = re.compile("|".join(sorted(map(re.escape, FACILITY_WORDS), key=len, reverse=True)))
WESTERN_PUNCTUATION = str.maketrans({"，": ", ", "；": "; ", "。": ". ", "、": ", ", "：": ": ", "（": " (", "）": ") "})
SYLLABLES_PER_WORD = 2  # Chinese place names are mostly two-syllable words: 杭州 西湖 -> Hangzhou Xihu
# An address is written from the city down (杭州西湖区文三路100号3幢); English says it from the door
# up, with the house number before the street: Building 3, 100 Wensan Road, Xihu District, Hangzhou.
_PART = r"[\u4e00-\u9fff]+?(?:省|市|区|县|大道|路|街)(?:\d+号)?|\d+(?:幢|栋|单元|室)"
_ADDRESS = re.compile(f"(?:{_PART})+")
_ADDRESS_PART = re.compile(r"(?P<area>[\u4e00-\u9fff]+?(?:省|市|区|县|大道|路|街))(?:(?P<house>\d+)号)?"
                           r"|(?P<unit>\d+)(?P<kind>幢|栋|单元|室)")
UNIT_WORDS = {"幢": "Building", "栋": "Building", "单元": "Unit", "室": "Room"}
# An estate's numbered parts (翠苑一区, 二期): "Zone 1", "Phase 2", not "Yi District".
_NUMBERED_PART = re.compile(r"((?:[一二三四五六七八九]?十)?[一二三四五六七八九]|[一二三四五六七八九]?十)(区|期)")
NUMBERED_PART_WORDS = {"区": "Zone", "期": "Phase"}
CHINESE_DIGITS = "一二三四五六七八九"


def has_chinese(text: str) -> bool:
    return bool(HAN.search(text))


def for_language(text: str, language: str) -> str:
    """The name as a caller of `language` hears it."""
    if language.lower().startswith("zh") or not has_chinese(text):
        return text
    named = PROVINCES_IN_ENGLISH.get(text)
    if named:
        return named
    return _words_in_english(_ADDRESS.sub(_address_in_english, text))


def _address_in_english(address: re.Match) -> str:
    """A postal address said from the door up (a run of areas and roads with no number is left
    as it is: a place's name, not an address)."""
    parts = list(_ADDRESS_PART.finditer(address.group()))
    if not any(part["house"] or part["unit"] for part in parts):
        return address.group()
    english = [f"{UNIT_WORDS[part['kind']]} {part['unit']}" if part["unit"]
               else " ".join(filter(None, (part["house"], _words_in_english(part["area"])))) for part in parts]
    return ", ".join(reversed(english))


def _words_in_english(text: str) -> str:
    numbered = _NUMBERED_PART.sub(lambda m: f" {NUMBERED_PART_WORDS[m[2]]} {_chinese_number(m[1])} ", text)
    spaced = _FACILITY.sub(lambda m: f" {FACILITY_WORDS[m.group()]} ", numbered.translate(WESTERN_PUNCTUATION))
    words = " ".join(HAN_RUN.sub(lambda m: f" {_pinyin_words(m.group())} ", spaced).split())
    return re.sub(r" ([,;.:)])", r"\1", words)


def _pinyin_words(run: str) -> str:
    syllables = lazy_pinyin(run)
    words = ["".join(syllables[i:i + SYLLABLES_PER_WORD]) for i in range(0, len(syllables), SYLLABLES_PER_WORD)]
    return " ".join(word.capitalize() for word in words)


def _chinese_number(numeral: str) -> int:
    """一 -> 1, 十二 -> 12, 二十 -> 20 (the numbers estates count their parts with)."""
    tens, ten, ones = numeral.partition("十")
    if not ten:
        return CHINESE_DIGITS.index(numeral) + 1
    return (CHINESE_DIGITS.index(tens) + 1 if tens else 1) * 10 + (CHINESE_DIGITS.index(ones) + 1 if ones else 0)
