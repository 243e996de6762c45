"""Opening hours in local time (default Asia/Shanghai): when the hotline may call customers
back, and when agents are at work. Days of the week, a holiday calendar with its make-up
working days (调休), and quiet hours inside the day (a lunch break) are all configuration."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # as datetime.weekday()
EVERY_DAY = tuple(range(7))
LOOKAHEAD_DAYS = 400  # a calendar closed for longer than this is a configuration error


def parse_span(text: str, what: str) -> tuple[time, time]:
    """'08:30-18:00' -> (08:30, 18:00); an end of 24:00 is the end of the day."""
    try:
        start_text, end_text = text.split("-")
        start = time.fromisoformat(start_text.strip())
        end = time.max if end_text.strip() == "24:00" else time.fromisoformat(end_text.strip())
    except ValueError:
        raise ValueError(f"{what} {text!r} are not HH:MM-HH:MM") from None
    if start >= end:
        raise ValueError(f"{what} {text!r} end before they start")
    return start, end


def parse_days(text: str) -> tuple[int, ...]:
    """'mon-fri', 'mon,wed,sat' or 'mon-sun' -> weekday numbers."""
    days: set[int] = set()
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            start, end = DAY_NAMES.index(first[:3]), DAY_NAMES.index((last or first)[:3])
        except ValueError:
            raise ValueError(f"days {text!r}: use mon, tue, wed, thu, fri, sat, sun (e.g. mon-fri)") from None
        days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    if not days:
        raise ValueError("days: at least one day of the week is needed")
    return tuple(sorted(days))


def parse_dates(text: str) -> frozenset[date]:
    """'2026-10-01..2026-10-07, 2027-01-01' -> the dates, ranges included."""
    dates: set[date] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("..")
        try:
            start, end = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
        except ValueError:
            raise ValueError(f"date {part!r} is not YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD") from None
        if end < start:
            raise ValueError(f"date range {part!r} ends before it starts")
        dates.update(start + timedelta(days=n) for n in range((end - start).days + 1))
    return frozenset(dates)


@dataclass(frozen=True)
class CallingHours:
    start: time
    end: time
    zone: ZoneInfo
    days: tuple[int, ...] = EVERY_DAY  # Monday is 0, as datetime.weekday()
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # make-up working days (调休) that fall on closed weekdays
    quiet: tuple[tuple[time, time], ...] = ()  # closed spans inside the day

    @classmethod
    def parse(cls, text: str, zone_name: str, *, days: str = "mon-sun", holidays: str = "", workdays: str = "",
              quiet: str = "") -> CallingHours:
        """'08:30-18:00' in the given time zone, with optional days, holidays, make-up workdays
        and quiet hours ('12:00-13:30', comma-separated)."""
        start, end = parse_span(text, "hours")
        quiet_spans = tuple(sorted(parse_span(q.strip(), "quiet hours") for q in quiet.split(",") if q.strip()))
        return cls(start, end, ZoneInfo(zone_name), parse_days(days), parse_dates(holidays), parse_dates(workdays),
                   quiet_spans)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def stamp(self, moment: datetime) -> str:
        """A moment as people here read it, to the minute; naive moments are UTC, as stored."""
        return self.local(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).strftime("%Y-%m-%d %H:%M")

    def is_working_day(self, day: date) -> bool:
        return day not in self.holidays and (day.weekday() in self.days or day in self.workdays)

    def is_open(self, moment: datetime) -> bool:
        local = self.local(moment)
        clock = local.time()
        return (self.is_working_day(local.date()) and self.start <= clock < self.end
                and not any(q_start <= clock < q_end for q_start, q_end in self.quiet))

    def next_opening(self, moment: datetime) -> datetime:
        """The moment itself when open, else the next moment the hours open (UTC)."""
        if self.is_open(moment):
            return moment.astimezone(UTC)
        local = self.local(moment)
        day, clock = local.date(), local.time()
        for _ in range(LOOKAHEAD_DAYS):
            if self.is_working_day(day) and clock < self.end:
                clock = max(clock, self.start)
                for q_start, q_end in self.quiet:
                    if q_start <= clock < q_end:
                        clock = q_end
                if clock < self.end:
                    return datetime.combine(day, clock, self.zone).astimezone(UTC)
            day, clock = day + timedelta(days=1), time.min
        raise ValueError(f"hours closed for more than {LOOKAHEAD_DAYS} days: check the holiday calendar")
