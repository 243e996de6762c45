"""Booking callbacks: the caller's chosen slot, moved into calling hours when needed."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqueue.destinations import CallbackRefused, Destinations
from callqueue.hours import CallingHours
from callqueue.models import Callback, CallbackStatus, DoNotCall
from clock import to_naive_utc

SLOTS = ("soonest", "afternoon", "tomorrow_morning")
AFTERNOON = time(14, 0)
MORNING = time(9, 0)


def requested_time(slot: str, now: datetime, hours: CallingHours) -> datetime:
    """The moment a slot names, before calling hours are applied (UTC)."""
    local = hours.local(now)
    if slot == "soonest":
        return now
    if slot == "afternoon":
        wanted = datetime.combine(local.date(), AFTERNOON, hours.zone)
        return max(wanted, local).astimezone(UTC)
    if slot == "tomorrow_morning":
        return datetime.combine(local.date() + timedelta(days=1), MORNING, hours.zone).astimezone(UTC)
    raise ValueError(f"unknown callback slot {slot!r}; choose from {', '.join(SLOTS)}")


def do_not_call_numbers(session: Session) -> set[str]:
    return set(session.scalars(select(DoNotCall.phone)))


def why_not_callable(phone: str, do_not_call: set[str]) -> str | None:
    """Why no outbound call may be booked to this number, or None: the rule every campaign shares."""
    if not phone:
        return "no phone number"
    if phone in do_not_call:
        return "on the do-not-call list"
    return None


def book_callback(
    session: Session, *, phone: str, slot: str, now: datetime, hours: CallingHours,
    reason: str, origin_call_sid: str = "", window: timedelta = timedelta(days=3),
    kind: str = "agent", ticket_id: int | None = None, destinations: Destinations | None = None,
) -> tuple[Callback, bool]:
    """Store a callback due inside calling hours; (callback, moved out of the requested slot).
    With `destinations`, a number they refuse raises CallbackRefused (the worker checks again)."""
    if destinations is not None and (why_not := destinations.why_not_now(session, phone, now)):
        raise CallbackRefused(why_not)
    requested = requested_time(slot, now, hours)
    due = hours.next_opening(requested)
    callback = Callback(
        phone=phone, slot=slot, reason=reason, status=CallbackStatus.SCHEDULED,
        requested_at=to_naive_utc(requested), due_at=to_naive_utc(due), created_at=to_naive_utc(now),
        origin_call_sid=origin_call_sid, expires_at=to_naive_utc(due + window), kind=kind, ticket_id=ticket_id,
    )
    session.add(callback)
    session.commit()
    return callback, due > requested



def not_yet_placed(session: Session, due_before: datetime | None = None) -> int:
    """Callbacks scheduled but not yet placed; with `due_before` (naive UTC), those due before it."""
    query = select(func.count(Callback.id)).where(Callback.status.in_([CallbackStatus.SCHEDULED,
                                                                         CallbackStatus.DIALLING]))
    if due_before is not None:
        query = query.where(Callback.due_at < due_before)
    return session.scalar(query) or 0
