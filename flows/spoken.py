"""Times, dates, durations, amounts and opening hours as a native speaker of each language says
them: zh-CN "早上8点半", "下午2点", "明天", "12月3日"; en-US "8:30 am", "2 pm tomorrow",
"on December 3", "1 day" / "2 days"; ko-KR "오전 8시 30분", "내일", "12월 3일".

Prompt templates reach these through format specs (flows/prompts.py), so a prompt author writes
`{until:time}` or `{standard_days:days}` and never formats a value in Python. `today` is the
local date of the call: a date that is today or tomorrow is said so."""
from __future__ import annotations

import re
from datetime import date, datetime, time

from callqueue.hours import parse_days

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "ko": ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일"),
}
EVERY_DAY = {"zh": "每天", "en": "every day", "ko": "매일"}
RELATIVE_DAYS = {"zh": ("今天", "明天", "后天"), "en": ("today", "tomorrow"), "ko": ("오늘", "내일", "모레")}
# unit -> (singular, plural); Chinese and Korean take no plural and no space.
UNITS = {
    "zh": {"days": "天", "hours": "小时", "minutes": "分钟", "kg": "公斤", "yuan": "元", "callers": "位客户"},
    "ko": {"days": "일", "hours": "시간", "minutes": "분", "kg": "킬로그램", "yuan": "위안", "callers": "명의 고객"},
    "en": {"days": ("day", "days"), "hours": ("hour", "hours"), "minutes": ("minute", "minutes"),
           "kg": ("kilogram", "kilograms"), "yuan": ("yuan", "yuan"), "callers": ("caller", "callers")},
}
ROUND_THE_CLOCK = {"zh": "全天24小时", "en": "24 hours a day", "ko": "24시간"}
MIDNIGHT = 24  # an end of hours "24:00": the end of the day
MORNING_PERIODS = {"早上", "上午"}  # one morning: "早上8点到11点半"


def family(language: str) -> str:
    """The rules a language code speaks by; English for a language with none of its own."""
    prefix = language.split("-")[0].lower()
    return prefix if prefix in UNITS else "en"


def clock(value) -> tuple[int, int]:
    """'08:30', '24:00', a time or a datetime -> (hour, minute)."""
    if isinstance(value, (time, datetime)):
        return value.hour, value.minute
    hour, _, minute = str(value).strip().partition(":")
    return int(hour), int(minute or 0)


def say_time(language: str, hour: int, minute: int = 0) -> str:
    lang = family(language)
    if lang == "zh":
        return _zh_time(hour, minute)
    if lang == "ko":
        half = "오전" if hour < 12 or hour == MIDNIGHT else "오후"
        return f"{half} {_twelve(hour)}시" + (f" {minute}분" if minute else "")
    if hour in (0, MIDNIGHT) and not minute:
        return "midnight"
    if hour == 12 and not minute:
        return "noon"
    suffix = "am" if hour < 12 or hour == MIDNIGHT else "pm"
    return f"{_twelve(hour)}{f':{minute:02d}' if minute else ''} {suffix}"


def _zh_time(hour: int, minute: int) -> str:
    # The part of the day comes first, as people say it: 早上8点半, 下午2点, 晚上12点.
    return "".join(_zh_time_parts(hour, minute))


def _zh_time_parts(hour: int, minute: int) -> tuple[str, str]:
    if hour == MIDNIGHT or hour >= 19:
        period = "晚上"
    elif hour < 5:
        period = "凌晨"
    elif hour < 9:
        period = "早上"
    elif hour < 12:
        period = "上午"
    elif hour < 13:
        period = "中午"
    else:
        period = "下午"
    minutes = "" if minute == 0 else "半" if minute == 30 else f"{minute:02d}分"
    return period, f"{_twelve(hour) if hour else 0}点{minutes}"  # 凌晨0点, not 凌晨12点


def _twelve(hour: int) -> int:
    return hour % 12 or 12


def say_span(language: str, span: str) -> str:
    """Opening hours '08:00-21:00' -> "早上8点到晚上9点" / "8 am to 9 pm"; within one part of
    the day it is said once, "下午1点到6点" / "1 to 6 pm"."""
    start, _, end = str(span).partition("-")
    if not end:
        return str(span)
    if clock(start) == (0, 0) and clock(end) == (MIDNIGHT, 0):
        return ROUND_THE_CLOCK[family(language)]
    lang = family(language)
    if lang == "zh":
        (first_period, first), (last_period, last) = _zh_time_parts(*clock(start)), _zh_time_parts(*clock(end))
        same = last_period == first_period or {first_period, last_period} == MORNING_PERIODS
        return f"{first_period}{first}到{'' if same else last_period}{last}"
    first, last = say_time(language, *clock(start)), say_time(language, *clock(end))
    if lang == "ko":
        return f"{first}부터 {last}까지"
    suffix = first[-3:]
    if suffix in (" am", " pm") and last.endswith(suffix):
        first = first[:-3]  # "1 to 6 pm"
    return f"{first} to {last}"


def say_date(language: str, day: date, today: date | None = None, *, adverb: bool = False) -> str:
    """A day: today / tomorrow by name, another as the month and day. `adverb` is the form that
    stands alone in a sentence ("arrives on December 3" but "arrives tomorrow", 12월 3일에 but 내일)."""
    lang = family(language)
    if today is not None and 0 <= (day - today).days < len(RELATIVE_DAYS[lang]):
        return RELATIVE_DAYS[lang][(day - today).days]
    if lang == "zh":
        return f"{day.month}月{day.day}日"
    if lang == "ko":
        return f"{day.month}월 {day.day}일{'에' if adverb else ''}"  # 내일 도착 but 12월 3일에 도착
    return f"{'on ' if adverb else ''}{MONTHS[day.month - 1]} {day.day}"


def say_moment(language: str, moment: datetime, today: date | None = None) -> str:
    """A day and a time: "明天早上8点半", "8:30 am tomorrow", "2 pm on December 3"."""
    lang = family(language)
    day = say_date(language, moment.date(), today, adverb=lang == "en")
    at = say_time(language, moment.hour, moment.minute)
    if lang == "zh":
        return f"{day}{at}"
    if lang == "ko":
        return f"{day} {at}"
    return f"{at} {day}"


def say_amount(language: str, amount, unit: str) -> str:
    """A count with its unit: "1天" / "1 day" / "2 days", "12.5元" / "12.50 yuan"."""
    lang = family(language)
    value = float(amount)
    # English says money in cents ("twelve fifty"); Chinese and Korean say 12.5 as 十二点五.
    text = str(int(value)) if value.is_integer() else f"{value:.2f}" if unit == "yuan" and lang == "en" \
        else f"{value:g}"
    words = UNITS[lang][unit]
    if isinstance(words, str):
        return f"{text}{words}"
    return f"{text} {words[0] if text == '1' else words[1]}"


def say_weekdays(language: str, days: str) -> str:
    """AGENT_DAYS 'mon-fri' -> "周一至周五" / "Monday to Friday"; every day -> "每天"."""
    numbers, lang = parse_days(days), family(language)
    names = WEEKDAYS[lang]
    if len(numbers) == 7:
        return EVERY_DAY[lang]
    if len(numbers) > 2 and numbers == tuple(range(numbers[0], numbers[-1] + 1)):
        first, last = names[numbers[0]], names[numbers[-1]]
        return {"zh": f"{first}至{last}", "ko": f"{first}부터 {last}까지", "en": f"{first} to {last}"}[lang]
    listed = [names[n] for n in numbers]
    if lang == "zh":
        return "、".join(listed)
    if lang == "ko":
        return ", ".join(listed)
    return listed[0] if len(listed) == 1 else f"{', '.join(listed[:-1])} and {listed[-1]}"


LETTERS_OR_DIGITS = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]+")


def waybill_groups(text: str) -> list[str]:
    """A waybill in the groups people say it in: its letters together, its digits in fours,
    with threes at the end rather than a lone digit or two ("EA123456785CN" -> EA, 123, 456,
    785, CN; 13 digits -> 4 3 3 3)."""
    groups: list[str] = []
    for run in LETTERS_OR_DIGITS.findall(str(text)):
        groups += _digit_groups(run) if run.isdigit() else [run]
    return groups


def phone_groups(number: str) -> list[str]:
    """A Chinese phone number in the groups people say it in: a mobile 3-4-4 (138 0013 8000), a
    landline's area code apart from its number (010 / 0571, then 8888 6666 or 888 6666)."""
    digits = "".join(filter(str.isdigit, str(number)))
    if len(digits) == 11 and digits.startswith("1"):
        return [digits[:3], digits[3:7], digits[7:]]
    if digits.startswith("0") and len(digits) > 8:
        area = 3 if digits[1] in "12" else 4  # 010 and 02x are the big cities' three-digit codes
        local = digits[area:]
        return [digits[:area]] + ([local[:3], local[3:]] if len(local) == 7 else _digit_groups(local))
    return _digit_groups(digits)


def _digit_groups(digits: str) -> list[str]:
    count = len(digits)
    threes = min((4 - count % 4) % 4, count // 3)
    split = count - 3 * threes
    return ([digits[i:min(i + 4, split)] for i in range(0, split, 4)]
            + [digits[i:i + 3] for i in range(split, count, 3)])
