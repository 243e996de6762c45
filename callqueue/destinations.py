"""Where the hotline may call, and how often: the toll-fraud guard on every outbound call.

A callback is booked (from the IVR, the console, the CLI, a campaign) and dialled (by a
worker) only to a number that one of the allowed patterns (CALLBACK_DESTINATIONS) matches in
E.164 form, and to one number at most CALLBACKS_PER_NUMBER_PER_DAY callbacks are booked in
24 hours. The default patterns allow mainland China's mobiles and landlines, not its
shared-cost 400/800 lines, and nothing abroad: a premium `+1 900` number is refused
wherever it comes from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqueue.models import Callback
from clock import to_naive_utc
from tracking.service import normalise_phone


class CallbackRefused(ValueError):
    """A callback the hotline will not book or dial; the message says why (the number masked)."""


def e164(phone: str) -> str:
    """The number in E.164: one abroad as normalise_phone keeps it (`+` and its country code), a
    national one (a mobile, or a landline with its trunk 0) as China's."""
    national = normalise_phone(phone)
    return national if national.startswith("+") else "+86" + national.removeprefix("0")


@dataclass(frozen=True)
class Destinations:
    patterns: tuple[str, ...]
    per_number_per_day: int

    def why_not(self, phone: str) -> str | None:
        """Why no call may go to this number at all, or None."""
        if not any(re.fullmatch(pattern, e164(phone)) for pattern in self.patterns):
            return "the number is outside the destinations the hotline calls"
        return None

    def why_not_now(self, session: Session, phone: str, now: datetime) -> str | None:
        """Why no callback may be booked to this number now, or None."""
        booked = session.scalar(select(func.count(Callback.id)).where(
            Callback.phone == phone, Callback.created_at > to_naive_utc(now) - timedelta(days=1)))
        if booked >= self.per_number_per_day:
            return f"{booked} callbacks to this number in the last 24 hours already"
        return self.why_not(phone)


def from_config(config) -> Destinations:
    patterns = tuple(config["CALLBACK_DESTINATIONS"].split())
    for pattern in patterns:
        re.compile(pattern)  # a typo fails at start, not on the first call
    return Destinations(patterns, config["CALLBACKS_PER_NUMBER_PER_DAY"])
