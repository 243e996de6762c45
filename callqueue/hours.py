"""Calling hours: when the hotline may call customers back (local time, default Asia/Shanghai)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class CallingHours:
    start: time
    end: time
    zone: ZoneInfo
    days: tuple[int, ...] = EVERY_DAY  # Monday is 0, as datetime.weekday()

    @classmethod
    def parse(cls, text: str, zone_name: str) -> CallingHours:
        """'08:30-18:00' in the given time zone."""
        try:
            start_text, end_text = text.split("-")
            start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
        except ValueError:
            raise ValueError(f"calling hours {text!r} are not HH:MM-HH:MM") from None
        if start >= end:
            raise ValueError(f"calling hours {text!r} end before they start")
        return cls(start, end, ZoneInfo(zone_name))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def is_open(self, moment: datetime) -> bool:
        local = self.local(moment)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, moment: datetime) -> datetime:
        """The moment itself when open, else the next start of calling hours (UTC)."""
        if self.is_open(moment):
            return moment.astimezone(UTC)
        local = self.local(moment)
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        while day.weekday() not in self.days:
            day += timedelta(days=1)
        return datetime.combine(day, self.start, self.zone).astimezone(UTC)
