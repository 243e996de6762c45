"""Prompt catalogues: spoken formats, missing values, and language parity."""
from __future__ import annotations

import pytest

from config import LANGUAGES
from flows.errors import PromptError
from flows.prompts import MAX_SPOKEN_CHARS, PromptCatalogue, load_catalogues


@pytest.fixture(scope="module")
def catalogues():
    return load_catalogues(LANGUAGES)


def test_every_language_has_the_same_prompts(catalogues):
    keys = {language: set(c.prompts) for language, c in catalogues.items()}
    assert keys["zh-CN"] == keys["en-US"]


def test_spoken_formats():
    catalogue = PromptCatalogue("zh-CN", {
        "w": "{w:groups}", "d": "{n:digits}", "t": "{p:tail}", "day": "{d:date}", "at": "{d:datetime}",
    }, {"group_separator": "; "})
    assert catalogue.render("w", {"w": "SF1234567"}) == "S F; 1 2 3 4; 5 6 7"
    assert catalogue.render("d", {"n": "2611240001"}) == "2 6 1 1 2 4 0 0 0 1"
    assert catalogue.render("t", {"p": "13800138000"}) == "8 0 0 0"
    assert catalogue.render("day", {"d": "2026-11-25"}) == "11月25日"
    assert catalogue.render("at", {"d": "2026-11-25T09:05"}) == "11月25日上午9点05分"
    assert catalogue.render("day", {"d": ""}) == ""


def test_missing_value_or_key_raises(catalogues):
    with pytest.raises(PromptError, match="brand"):
        catalogues["zh-CN"].render("greeting", {})
    with pytest.raises(PromptError, match="no prompt 'nope'"):
        catalogues["zh-CN"].render("nope", {})


def test_templated_keys_are_known(catalogues):
    assert catalogues["en-US"].has("status.{parcel_status}")
    assert catalogues["en-US"].has("exception.{exception_reason}")
    assert not catalogues["en-US"].has("weather.{x}")


def test_greeting_names_the_brand(catalogues):
    assert catalogues["zh-CN"].render("greeting", {"brand": "中速快递"}) == "您好，中速快递客服，请问有什么可以帮您？"


def test_free_text_is_made_speakable_where_it_enters_a_prompt():
    catalogue = PromptCatalogue("zh-CN", {"at": "最新扫描在{place}。", "w": "{w:groups}", "d": "{d:datetime}"}, {})
    assert catalogue.render("at", {"place": "-2+3<svg onload=alert(1)>"}) == "最新扫描在2 3。"
    assert catalogue.render("at", {"place": "杭州\x07转运\u202e中心&nbsp;<b>（西湖区）</b>"}) == \
        "最新扫描在杭州转运中心 （西湖区）。"
    assert catalogue.render("at", {"place": "Zone A-3, Dock 12/B: 08:30-18:00"}) == \
        "最新扫描在Zone A-3, Dock 12/B: 08:30-18:00。"
    assert catalogue.render("at", {"place": "仓" * 1000}) == f"最新扫描在{'仓' * MAX_SPOKEN_CHARS}。"
    # Formatted values keep what their format reads (a time zone's +08:00, a waybill's letters).
    assert catalogue.render("d", {"d": "2026-11-25T09:05+08:00"}) == "11月25日上午9点05分"
    assert catalogue.render("w", {"w": "SF12"}) == "S F, 1 2"


def test_english_callers_hear_chinese_names_in_pinyin(catalogues):
    held = catalogues["en-US"].render("status.exception", {"last_scan_location": "沈阳转运中心"})
    assert held == "Your parcel is held at Shenyang Sorting Center."
    assert catalogues["en-US"].render("greeting", {"brand": "顺达快递"}) == \
        "Hello, Shunda Express customer service. How can we help you?"
    assert catalogues["zh-CN"].render("status.exception", {"last_scan_location": "沈阳转运中心"}) == \
        "您的快件目前滞留在沈阳转运中心。"


def test_every_catalogue_names_every_carrier_and_the_menu_has_a_key_for_each(catalogues):
    from flows.loader import load_flows
    from tracking import CARRIERS

    for catalogue in catalogues.values():
        assert set(catalogue.formats["carriers"]) == set(CARRIERS), catalogue.language
        catalogue.render("which_carrier", {"carrier_choices": " ".join(CARRIERS)})
    options = load_flows()["hotline"].steps["which_carrier"]["menu"]["options"]
    assert {str(n) for n in range(1, len(CARRIERS) + 1)} <= set(options)


def test_the_carrier_menu_in_each_language(catalogues):
    choices = {"carrier_choices": "SF ZTO"}
    assert catalogues["zh-CN"].render("which_carrier", choices) == "请问您的快件是哪家快递公司的？顺丰请按1，中通请按2。"
    assert catalogues["en-US"].render("which_carrier", choices) == \
        "Which carrier is your parcel with? For SF Express, press 1. For ZTO Express, press 2."
    assert catalogues["ko-KR"].render("which_carrier", choices) == "택배사를 선택해 주세요. 순펑 1번, 중퉁 2번을 눌러 주세요."


def test_a_keypad_only_line_is_never_invited_to_speak(catalogues):
    """Prompts with a word for each line (`.speech`, `.keypad`): the keypad one asks for keys only."""
    spoken_words = {"zh-CN": ("说",), "en-US": ("say", "tell"), "ko-KR": ("말씀",)}
    for language, catalogue in catalogues.items():
        keypad = [key for key in catalogue.prompts if key.endswith(".keypad")]
        assert "survey_score.keypad" in keypad
        for key in keypad:
            text = catalogue.prompts[key].lower()
            assert not any(word in text for word in spoken_words[language]), (language, key)
            assert any(word in catalogue.prompts[key.replace(".keypad", ".speech")].lower()
                       for word in spoken_words[language]), (language, key)
    assert catalogues["en-US"].prompts["survey_score.keypad"].startswith("Please rate our service by pressing 1 to 5.")


def test_a_line_renders_only_the_wordings_of_its_input_mode(catalogues):
    english = catalogues["en-US"]
    assert "survey_score.speech" in english.played_keys("speech") and "greeting" in english.played_keys("speech")
    assert "survey_score.keypad" not in english.played_keys("speech")
    assert "survey_score.speech" not in english.played_keys("keypad") and "survey_score.keypad" in english.played_keys("keypad")
