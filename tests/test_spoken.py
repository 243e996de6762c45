"""Spoken times, dates, durations, amounts and opening hours, per language (flows/spoken.py),
and the prompts that use them: the schedule a caller hears comes from the settings."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from flows.prompts import load_catalogues
from flows.spoken import say_amount, say_date, say_moment, say_span, say_time, say_weekdays, waybill_groups

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(("hour", "minute", "zh", "en", "ko"), [
    (8, 0, "早上8点", "8 am", "오전 8시"),
    (8, 30, "早上8点半", "8:30 am", "오전 8시 30분"),
    (10, 15, "上午10点15分", "10:15 am", "오전 10시 15분"),
    (12, 0, "中午12点", "noon", "오후 12시"),
    (14, 0, "下午2点", "2 pm", "오후 2시"),
    (18, 0, "下午6点", "6 pm", "오후 6시"),
    (21, 5, "晚上9点05分", "9:05 pm", "오후 9시 5분"),
    (24, 0, "晚上12点", "midnight", "오전 12시"),
])
def test_clock_times(hour, minute, zh, en, ko):
    assert (say_time("zh-CN", hour, minute), say_time("en-US", hour, minute), say_time("ko-KR", hour, minute)) == \
        (zh, en, ko)


def test_today_and_tomorrow_are_said_by_name():
    assert [say_date("zh-CN", date(2026, 12, d), TODAY) for d in (2, 3, 4, 5)] == ["今天", "明天", "后天", "12月5日"]
    assert [say_date("en-US", date(2026, 12, d), TODAY, adverb=True) for d in (2, 3, 4)] == \
        ["today", "tomorrow", "on December 4"]
    assert say_date("en-US", date(2026, 12, 4), TODAY) == "December 4"
    assert [say_date("ko-KR", date(2026, 12, d), TODAY, adverb=True) for d in (2, 3, 4, 5)] == \
        ["오늘", "내일", "모레", "12월 5일에"]
    assert say_date("zh-CN", date(2026, 12, 1), TODAY) == "12月1日"  # yesterday is a date


def test_a_moment_puts_day_and_time_in_each_language_s_order():
    back = datetime(2026, 12, 3, 8, 30)
    assert say_moment("zh-CN", back, TODAY) == "明天早上8点半"
    assert say_moment("en-US", back, TODAY) == "8:30 am tomorrow"
    assert say_moment("ko-KR", back, TODAY) == "내일 오전 8시 30분"
    assert say_moment("zh-CN", datetime(2026, 12, 9, 14, 0), TODAY) == "12月9日下午2点"
    assert say_moment("en-US", datetime(2026, 12, 9, 14, 0), TODAY) == "2 pm on December 9"


def test_counts_take_english_plurals():
    assert [say_amount("en-US", n, "days") for n in (1, 2)] == ["1 day", "2 days"]
    assert say_amount("en-US", 1, "hours") == "1 hour"
    assert [say_amount(lang, 1, "callers") for lang in ("en-US", "zh-CN")] == ["1 caller", "1位客户"]
    assert say_amount("en-US", 60, "minutes") == "60 minutes"
    assert say_amount("en-US", "12.5", "yuan") == "12.50 yuan"
    assert say_amount("en-US", 1, "kg") == "1 kilogram"
    assert [say_amount("zh-CN", n, u) for n, u in ((1, "days"), (24, "hours"), (60, "minutes"), ("12.5", "yuan"),
                                                    (3, "kg"))] == ["1天", "24小时", "60分钟", "12.5元", "3公斤"]
    assert [say_amount("ko-KR", n, u) for n, u in ((2, "days"), (60, "minutes"), (3, "kg"))] == \
        ["2일", "60분", "3킬로그램"]


def test_opening_hours_and_days():
    assert say_span("zh-CN", "08:00-21:00") == "早上8点到晚上9点"
    assert say_span("en-US", "08:30-18:00") == "8:30 am to 6 pm"
    assert say_span("ko-KR", "08:30-18:00") == "오전 8시 30분부터 오후 6시까지"
    # Within one part of the day, it is said once; round the clock, so.
    assert [say_span("zh-CN", s) for s in ("13:00-18:00", "08:00-11:30", "09:00-12:00", "00:00-24:00")] == \
        ["下午1点到6点", "早上8点到11点半", "上午9点到中午12点", "全天24小时"]
    assert [say_span("en-US", s) for s in ("13:00-18:00", "09:00-12:00", "19:00-24:00", "00:00-24:00")] == \
        ["1 to 6 pm", "9 am to noon", "7 pm to midnight", "24 hours a day"]
    assert say_weekdays("zh-CN", "mon-sun") == "每天"
    assert say_weekdays("zh-CN", "mon-fri") == "周一至周五"
    assert say_weekdays("en-US", "mon-fri") == "Monday to Friday"
    assert say_weekdays("en-US", "mon,wed,sat") == "Monday, Wednesday and Saturday"
    assert say_weekdays("ko-KR", "sat") == "토요일"


@pytest.fixture(scope="module")
def catalogues():
    return load_catalogues(["zh-CN", "en-US", "ko-KR"])


def test_agent_hours_in_prompts_come_from_the_settings(catalogues):
    call = {"agent_hours": "09:00-17:30", "agent_days": "mon-fri", "agents_back": "2026-12-03T09:00",
            "today": TODAY.isoformat()}
    assert catalogues["zh-CN"].render("agents_closed", call) == \
        "人工客服服务时间为周一至周五上午9点到下午5点半，节假日另行安排。人工客服将于明天上午9点上线。"
    assert catalogues["en-US"].render("agents_closed", call) == (
        "Our agents are available Monday to Friday, 9 am to 5:30 pm; holidays may differ. "
        "They will be back at 9 am tomorrow.")
    assert "월요일부터 금요일까지 오전 9시부터 오후 5시 30분까지" in catalogues["ko-KR"].render("agents_closed", call)


def test_no_prompt_hard_codes_a_schedule(catalogues):
    """A clock time in a prompt's text is a schedule the settings or the data cannot change."""
    clock_time = re.compile(r"\d\s*(点|시|am\b|pm\b|:\d\d)|\bnoon\b|\bmidnight\b|中午12|凌晨\d", re.IGNORECASE)
    for catalogue in catalogues.values():
        for key, text in catalogue.prompts.items():
            assert not clock_time.search(text), (catalogue.language, key, text)


def test_fee_quote_says_one_day_not_one_days(catalogues):
    quote = {"standard_price": "12", "standard_days": 1}
    assert catalogues["en-US"].render("fee_standard", quote) == \
        "standard delivery costs 12 yuan and takes about 1 day."
    assert catalogues["zh-CN"].render("fee_standard", quote) == "标准快递12元，预计1天送达。"


def test_waybills_are_grouped_as_people_say_them(catalogues):
    assert waybill_groups("EA123456785CN") == ["EA", "123", "456", "785", "CN"]
    assert waybill_groups("1234567890123") == ["1234", "567", "890", "123"]  # no lone digit at the end
    assert waybill_groups("12345678") == ["1234", "5678"]
    assert catalogues["zh-CN"].render("confirm_waybill.track", {"waybill_digits": "EA123456785CN"}) == \
        "您要查询的单号是 E A，1 2 3，4 5 6，7 8 5，C N。确认请按1，重新输入请按2。"
    assert catalogues["en-US"].render("confirm_waybill.complaint", {"waybill_digits": "EA123456785CN"}) == \
        "Your complaint is about waybill E A, 1 2 3, 4 5 6, 7 8 5, C N. If that is right, press 1. To enter it again, press 2."


def test_read_back_says_what_the_caller_came_for(catalogues):
    said = {purpose: catalogues["zh-CN"].render(f"confirm_waybill.{purpose}", {"waybill_digits": "12345678"})
            for purpose in ("track", "complaint", "change_delivery", "return")}
    assert [text.split(" ")[0] for text in said.values()] == \
        ["您要查询的单号是", "您要投诉的快件单号是", "您要更改派送的快件单号是", "您要退回的快件单号是"]


def test_a_waiting_caller_hears_how_many_are_ahead_in_words_that_agree(catalogues):
    one, three = {"ahead": 1, "minutes": 1}, {"ahead": 3, "minutes": 4}
    assert catalogues["en-US"].render("queue_position", one).startswith(
        "You have 1 caller ahead of you, and the wait is about 1 minute. To hang up and keep your place in line, press 1;")
    assert catalogues["en-US"].render("queue_position", three).startswith("You have 3 callers ahead of you")
    assert catalogues["zh-CN"].render("queue_position", three).startswith("您前面还有3位客户，预计等待4分钟。")


@pytest.mark.parametrize("written, said", [
    ("文三路100号", "100 Wensan Road"),
    ("浙江省杭州市西湖区文三路100号2单元301室", "Room 301, Unit 2, 100 Wensan Road, Xihu District, Hangzhou, Zhejiang Province"),
    ("文三路菜鸟驿站", "Wensan Road Cainiao Station"),  # a place, not an address: in its own order
    ("翠苑一区南门", "Cuiyuan Zone 1 South Gate"),      # an estate's numbered parts, not "Yi District"
    ("阳光花园十二期", "Yangguang Huayuan Phase 12"),
])
def test_an_english_caller_hears_an_address_from_the_door_up(written, said):
    from flows.places import for_language

    assert for_language(written, "en-US") == said
    assert for_language(written, "zh-CN") == written


def test_phone_numbers_are_grouped_as_people_say_them():
    from flows.spoken import phone_groups

    assert phone_groups("13800138000") == ["138", "0013", "8000"]          # a mobile: 3-4-4
    assert phone_groups("057188886666") == ["0571", "8888", "6666"]        # area code, then the number
    assert phone_groups("01066668888") == ["010", "6666", "8888"]          # a three-digit area code
    assert phone_groups("0215556666") == ["021", "555", "6666"]            # a seven-digit local number
    assert phone_groups("95338") == ["95", "338"]                          # a service number: as a waybill's digits
