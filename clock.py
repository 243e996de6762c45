"""Time helpers. SQL stores naive UTC; code passes timezone-aware datetimes around."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def from_naive_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc)
