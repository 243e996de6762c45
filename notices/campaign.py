"""Proactive notices: when a batch of parcels on one route or at one scan location is hit by
the same exception (a backlog, the weather), their recipients are called and told why and
what happens next, before they call in. Notice calls are callbacks of kind "notice": calling
hours, pacing, the do-not-call list, answering-machine handling and exactly-once dialling
are the callback scheduler's."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callqueue.callbacks import book_callback, do_not_call_numbers, why_not_callable
from callqueue.destinations import CallbackRefused, Destinations
from callqueue.hours import CallingHours
from callqueue.models import Callback
from masking import mask_phone
from tracking.models import Parcel
from tracking.status import ExceptionReason, ParcelStatus

log = logging.getLogger(__name__)

REASON_PREFIX = "notice:"


@dataclass(frozen=True)
class NoticePlan:
    due: list[Parcel]
    skipped: list[tuple[Parcel, str]]  # and why


def affected(session: Session, *, location: str = "", route: str = "",
             reason: ExceptionReason | None = None) -> list[Parcel]:
    """Parcels held by an exception at a scan location, or on a route ("origin-destination")."""
    if not location and not route:
        raise ValueError("name a scan location or a route")
    query = select(Parcel).where(Parcel.status == ParcelStatus.EXCEPTION).order_by(Parcel.id)
    if reason is not None:
        query = query.where(Parcel.exception_reason == reason)
    if location:
        query = query.where(Parcel.last_scan_location == location)
    parcels = session.scalars(query).all()
    return [p for p in parcels if not route or f"{p.origin}-{p.destination}" == route]


def batches(session: Session, min_parcels: int) -> list[tuple[str, ExceptionReason]]:
    """(scan location, reason) pairs holding at least min_parcels parcels: a rule's trigger."""
    rows = session.execute(select(Parcel.last_scan_location, Parcel.exception_reason, func.count(Parcel.id))
                           .where(Parcel.status == ParcelStatus.EXCEPTION, Parcel.exception_reason.is_not(None))
                           .group_by(Parcel.last_scan_location, Parcel.exception_reason))
    return [(location, reason) for location, reason, count in rows if location and count >= min_parcels]


def waybill_of(callback: Callback) -> str:
    return callback.reason.removeprefix(REASON_PREFIX)


def plan(session: Session, parcels: list[Parcel]) -> NoticePlan:
    noticed = set(session.scalars(select(Callback.reason).where(Callback.kind == "notice")))
    blocked = do_not_call_numbers(session)
    due, skipped = [], []
    for parcel in parcels:
        why_not = "already noticed" if REASON_PREFIX + parcel.waybill in noticed else \
            why_not_callable(parcel.recipient_phone, blocked)
        if why_not:
            skipped.append((parcel, why_not))
        else:
            due.append(parcel)
    return NoticePlan(due, skipped)


def start(session: Session, parcels: list[Parcel], *, now: datetime, hours: CallingHours, window: timedelta,
          schedule, destinations: Destinations | None = None) -> list[Callback]:
    """Book a notice call to each due recipient at the soonest opening of calling hours
    (a number the destinations refuse is left out)."""
    booked = []
    for parcel in plan(session, parcels).due:
        try:
            callback, _ = book_callback(session, phone=parcel.recipient_phone, slot="soonest", now=now,
                                        hours=hours, reason=REASON_PREFIX + parcel.waybill, window=window,
                                        kind="notice", destinations=destinations)
        except CallbackRefused as refused:
            log.info("no notice call to %s: %s", mask_phone(parcel.recipient_phone), refused)
            continue
        schedule(callback)
        booked.append(callback)
    return booked


def apply_rule(session: Session, min_parcels: int, *, now: datetime, hours: CallingHours, window: timedelta,
               schedule, destinations: Destinations | None = None) -> list[Callback]:
    """The automatic rule: every batch of min_parcels parcels held at one place for one reason
    gets its notices (parcels already noticed are skipped, so running it again calls nobody twice)."""
    booked = []
    for location, reason in batches(session, min_parcels):
        booked += start(session, affected(session, location=location, reason=reason), now=now, hours=hours,
                        window=window, schedule=schedule, destinations=destinations)
    return booked
