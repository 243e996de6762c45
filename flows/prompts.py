"""Prompt catalogues: the words of each language, as data (flows/prompts/<lang>.yaml).

Templates use str.format fields with a few spoken formats, said by the language's rules
(flows/spoken.py):
  {waybill:groups}   characters one by one: letters together, digits in fours and threes
  {number:digits}    digits read one by one
  {number:phone}     a phone number in the groups people say it in: 138 0013 8000, 0571 8888 6666
  {phone:tail}       the last four digits of a phone number, one by one
  {day:date}         a date: 今天 / 明天 / 12月3日, today / tomorrow / on December 3
  {when:datetime}    a date and time: 明天早上8点半, 8:30 am tomorrow
  {opens:time}       a clock time "HH:MM": 下午2点, 2 pm
  {hours:span}       opening hours "08:00-21:00": 早上8点到晚上9点, 8 am to 9 pm
  {days:weekdays}    days of the week "mon-fri": 周一至周五, Monday to Friday
  {codes:carriers}   a menu of carriers, codes "SF YTO": 顺丰请按1，圆通请按2 / For SF Express,
                     press 1. For YTO Express, press 2. (the catalogue's `formats`: the names
                     in `carriers`, each item by `carrier_choice`, joined by `choice_separator`)
  {n:days} {n:hours} {n:minutes} {n:kg} {n:yuan} {n:callers}   a count with its unit: 1天, 1 day, 2 days
  {place}            any other value: read as written, once made speakable (`speakable`);
                     Chinese names in pinyin for callers of another language (flows/places.py)
The call's local date, `today` among the variables, makes today and tomorrow said by name.
Nested mappings in the YAML flatten to dotted keys ("status.in_transit"). `menu_words` gives,
per menu step and key, the words a caller may say instead of pressing the key.
"""
from __future__ import annotations

import re
import string
import unicodedata
from datetime import date, datetime
from pathlib import Path

import yaml

from flows import places, spoken
from flows.errors import FlowError, PromptError

PROMPTS_DIR = Path(__file__).parent / "prompts"


def flatten(data: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


MARKUP = re.compile(r"<[^>]*(?:>|$)|&#?\w+;")  # tags (an unclosed one to the end) and entities
SPOKEN_PUNCTUATION = set("，。、！？；：,.!?;:'\"“”‘’()（）《》-—/·")
MAX_SPOKEN_CHARS = 300  # about a minute and a half at the hotline's rate: enough for an announcement


def speakable(text: str) -> str:
    """Free text (scan locations, names, addresses, announcements) as the caller may hear it:
    letters of any script, digits and common punctuation; markup, control characters and
    symbols dropped, the length bounded.

    Done here, where a value enters a prompt, rather than at import: every prompt, whether
    synthesised or said by the carrier's <Say>, passes through this one place, whatever wrote
    the value (a parcel or branch import, an announcement, an agent), and the stored data stays
    as the source gave it for agents' screens and reports."""
    kept = "".join(_spoken_character(ch) for ch in MARKUP.sub(" ", text))
    # A leading "-" or "/" would be read as "minus" or "slash" before the place's name.
    return " ".join(kept.split())[:MAX_SPOKEN_CHARS].strip(" -—/")


def _spoken_character(ch: str) -> str:
    kind = unicodedata.category(ch)[0]
    if kind in "LN" or ch in SPOKEN_PUNCTUATION:  # letters and digits of any script
        return ch
    return "" if kind == "C" else " "  # control and format characters are invisible; symbols part words


COUNTED_UNITS = ("days", "hours", "minutes", "kg", "yuan", "callers")
INPUT_MODES = ("speech", "keypad")  # a call's `input_mode`; a prompt may have a wording for each


class _SpokenFormatter(string.Formatter):
    """One render's formatter: a call's `today` is its own, so none is shared between calls."""

    def __init__(self, language: str, formats: dict[str, str], today: date | None):
        self.language, self.formats, self.today = language, formats, today

    def get_value(self, key, args, kwargs):
        try:
            return kwargs[key]
        except KeyError:
            raise PromptError(f"prompt needs a value for {key!r}") from None

    def format_field(self, value, spec):
        if spec == "groups":
            return self.formats.get("group_separator", ", ").join(" ".join(g) for g in spoken.waybill_groups(value))
        if spec == "digits":
            return " ".join(str(value))
        if spec == "phone":
            return self.formats.get("group_separator", ", ").join(" ".join(g) for g in spoken.phone_groups(value))
        if spec == "tail":
            return " ".join(str(value)[-4:])
        if spec == "time":
            return spoken.say_time(self.language, *spoken.clock(value))
        if spec == "span":
            return spoken.say_span(self.language, value)
        if spec == "weekdays":
            return spoken.say_weekdays(self.language, value)
        if spec == "carriers":
            names, item = self.formats["carriers"], self.formats["carrier_choice"]
            return self.formats.get("choice_separator", ", ").join(
                item.format(name=names[code], key=key) for key, code in enumerate(str(value).split(), start=1))
        if spec in COUNTED_UNITS:
            return spoken.say_amount(self.language, value, spec)
        if spec in ("date", "datetime"):
            if not value:
                return ""
            moment = datetime.fromisoformat(value) if isinstance(value, str) else value
            if spec == "date":
                day = moment.date() if isinstance(moment, datetime) else moment
                return spoken.say_date(self.language, day, self.today, adverb=True)
            return spoken.say_moment(self.language, moment, self.today)
        if isinstance(value, str) and not spec:
            return speakable(places.for_language(value, self.language))
        return super().format_field(value, spec)


class PromptCatalogue:
    def __init__(self, language: str, prompts: dict[str, str], formats: dict[str, str], file: str = "",
                 menu_words: dict[str, dict[str, list[str]]] | None = None):
        self.language, self.prompts, self.file = language, prompts, file
        # step -> key -> words a caller may say instead of pressing that key
        self.menu_words = menu_words or {}
        self.formats = formats

    @classmethod
    def load(cls, language: str, directory: Path = PROMPTS_DIR) -> PromptCatalogue:
        path = directory / f"{language}.yaml"
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise FlowError(f"cannot read prompts: {error}", file=str(path)) from None
        if not isinstance(data, dict) or not isinstance(data.get("prompts"), dict):
            raise FlowError("a prompt catalogue is a mapping with 'prompts'", file=str(path))
        words = {str(step): {str(key): [str(w) for w in ws] for key, ws in options.items()}
                 for step, options in (data.get("menu_words") or {}).items()}
        return cls(language, flatten(data["prompts"]), data.get("formats") or {}, str(path), words)

    def key_for_words(self, step: str, text: str) -> str | None:
        """The menu key whose words the caller said, if any."""
        said = text.split()
        for key, words in self.menu_words.get(step, {}).items():
            if any(word in said for word in words):
                return key
        return None

    def played_keys(self, input_mode: str) -> list[str]:
        """The prompts a line of this input mode can play: not the wordings for the other mode
        ("survey_score.keypad" on a line with a recogniser)."""
        others = {f".{mode}" for mode in INPUT_MODES if mode != input_mode}
        return [key for key in self.prompts if not any(key.endswith(other) for other in others)]

    def has(self, key: str) -> bool:
        if "{" not in key:
            return key in self.prompts
        # A key naming a variable ("status.{parcel_status}") needs at least one match.
        pattern = re.compile(re.sub(r"\\\{[^{}]*\\\}", "[^.]+", re.escape(key)))
        return any(pattern.fullmatch(k) for k in self.prompts)

    def render(self, key: str, variables: dict) -> str:
        try:
            template = self.prompts[key]
        except KeyError:
            raise PromptError(f"no prompt {key!r} in {self.file}") from None
        today = variables.get("today")
        today = date.fromisoformat(today) if isinstance(today, str) and today else None
        return _SpokenFormatter(self.language, self.formats, today).format(template, **variables)


def load_catalogues(languages, directory: Path = PROMPTS_DIR) -> dict[str, PromptCatalogue]:
    return {language: PromptCatalogue.load(language, directory) for language in languages}
