"""Ranking N-best lists against known parcels: formats, check digits, caller, near misses."""
from __future__ import annotations

from speech.waybills import ParcelRef, format_candidates, one_edit_away, rank
from tracking.carriers import keyed_digits

PARCELS = {
    "SF1234567890123": ("13800138000",),
    "7712345678901": ("13900000000",),
    "JT7712345678901": ("13800138000",),   # same digits as the STO parcel, another carrier
    "EE123456785CN": ("13700000000",),
    "75123456789012": ("13600000000",),
}


def lookup(digit_strings):
    found = {}
    for waybill, phones in PARCELS.items():
        digits = keyed_digits(waybill)
        if digits in digit_strings:
            found.setdefault(digits, []).append(ParcelRef(waybill, phones))
    return found


def best(alternatives, language="zh-CN", caller=""):
    ranked = rank(alternatives, language, lookup, caller)
    return ranked[0] if ranked else None


def test_format_candidates_try_lettered_formats_on_bare_digits():
    assert format_candidates("1234567890123") == ["SF1234567890123", "YT1234567890123", "JD1234567890123",
                                                  "JT1234567890123"]
    assert format_candidates("EE123456785CN") == ["EE123456785CN"]
    assert format_candidates("EE123456784CN") == []  # wrong S10 check digit fits nothing
    assert format_candidates("123") == []


def test_exact_known_waybill_from_the_first_alternative():
    top = best(["艾斯 艾弗 一 二 三 四 五 六 七 八 九 零 一 二 三"])
    assert (top.waybill, top.known, top.edits) == ("SF1234567890123", True, 0)


def test_a_known_parcel_in_a_later_alternative_beats_an_unknown_first():
    top = best(["一 二 三 四 五 六 七 八 九 零 一 二 四", "一 二 三 四 五 六 七 八 九 零 一 二 三"])
    assert top.waybill == "SF1234567890123" and top.known


def test_the_callers_own_parcel_wins_a_tie():
    assert best(["七 七 一 二 三 四 五 六 七 八 九 零 一"], caller="13800138000").waybill == "JT7712345678901"
    assert best(["七 七 一 二 三 四 五 六 七 八 九 零 一"], caller="13900000000").waybill == "7712345678901"


def test_letters_said_must_match():
    top = best(["j t 七 七 一 二 三 四 五 六 七 八 九 零 一"], language="zh-CN")
    assert top.waybill == "JT7712345678901"


def test_near_miss_on_a_confusable_digit_is_recovered_for_the_callers_own_parcel():
    top = best(["一 二 三 四 五 六 一 八 九 零 一 二 三"], caller="13800138000")  # the 7 (七) heard as 1 (一)
    assert (top.waybill, top.known, top.edits) == ("SF1234567890123", True, 1)


def test_dropped_and_extra_digits_are_recovered_for_the_callers_own_parcel():
    assert best(["one two three four five six seven eight nine oh one two"], "en-US",
                caller="13800138000").waybill == "SF1234567890123"
    assert best(["seven five one two two three four five six seven eight nine oh one two"],
                "en-US", caller="13600000000").waybill == "75123456789012"


def test_a_near_miss_is_never_corrected_to_someone_elses_parcel():
    """The caller's own waybill may be one nobody knows: what they said is kept, unknown, rather
    than swapped for another customer's parcel one digit away (false_correction_rate in bench.speech)."""
    for caller in ("", "13900000000"):
        ranked = rank(["一 二 三 四 五 六 一 八 九 零 一 二 三"], "zh-CN", lookup, caller)
        assert ranked and not any(c.known for c in ranked)
        assert ranked[0].waybill.endswith("1234561890123")


def test_someone_elses_parcel_in_a_later_alternative_does_not_beat_a_plausible_first():
    """A caller whose waybill is unknown: the recogniser's first reading fits a format, a later one
    names another customer's parcel. The caller keeps what was heard first (unknown); their own
    parcel in a later alternative still wins."""
    alternatives = ["一 二 三 四 五 六 七 八 九 零 一 二 四", "一 二 三 四 五 六 七 八 九 零 一 二 三"]
    ranked = rank(alternatives, "zh-CN", lookup, "13900000000")
    assert ranked and not any(c.known for c in ranked)
    assert ranked[0].waybill.endswith("1234567890124")
    own = best(alternatives, caller="13800138000")
    assert (own.waybill, own.known, own.callers) == ("SF1234567890123", True, True)
    # A first reading that fits no format (too short) is no waybill heard: the best plausible
    # reading is the one kept, not another customer's parcel further down.
    ranked = rank(["一 二 三 四 五 六 七 八 九", *alternatives], "zh-CN", lookup, "13900000000")
    assert ranked and not any(c.known for c in ranked) and ranked[0].waybill.endswith("1234567890124")


def test_korean_n_best():
    top = best(["칠 오 일 이 삼 사 오 육 칠 팔 구 공 일 이"], "ko-KR")
    assert top.waybill == "75123456789012"


def test_nothing_heard_or_nothing_near():
    assert rank([], "zh-CN", lookup) == []
    assert rank(["嗯"], "zh-CN", lookup) == []
    unknown = rank(["九 九 九 九 九 九 九 九 九 九 九 九 九"], "zh-CN", lookup)
    assert unknown and not any(c.known for c in unknown)


def test_one_edit_away_counts():
    variants = one_edit_away("12")
    assert "2" in variants and "1" in variants          # deletions
    assert "13" in variants and "02" in variants        # substitutions
    assert "512" in variants and "125" in variants      # insertions
    assert "12" not in variants
    assert len(one_edit_away("1234567890123")) < 300
