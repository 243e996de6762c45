"""The numbers a supervisor reads: volumes, problem types, handling times, SLA compliance,
satisfaction and 回访率, and hot spots. Pure queries over SQL; no HTTP."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqueue.models import Callback, CallbackStatus
from calls.records import CallRecord, ivr_containment
from clock import to_naive_utc
from tickets.models import Ticket
from tracking.models import Parcel
from tracking.status import ParcelStatus

HOT_SPOTS = 5


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime  # local, inclusive
    end: datetime    # local, exclusive

    def utc_bounds(self) -> tuple[datetime, datetime]:
        return to_naive_utc(self.start), to_naive_utc(self.end)


def day(day_: date, zone: ZoneInfo) -> Period:
    start = datetime.combine(day_, time(0), zone)
    return Period(day_.isoformat(), start, start + timedelta(days=1))


def week(iso_week: str, zone: ZoneInfo) -> Period:
    """'2026-W48': Monday to Sunday."""
    try:
        year, number = iso_week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        raise ValueError(f"{iso_week!r} is not an ISO week such as 2026-W48") from None
    start = datetime.combine(monday, time(0), zone)
    return Period(iso_week.upper(), start, start + timedelta(days=7))


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def build(session: Session, period: Period, *, language: str | None = None, carrier: str | None = None,
          now: datetime | None = None) -> dict:
    """A period's figures; `language` narrows calls to that hotline language, `carrier` narrows
    calls and tickets to that carrier's parcels. `now` (default: the period's end): a first
    response not due yet by then counts neither way, so a day with none due shows None."""
    zone = period.start.tzinfo
    start, end = period.utc_bounds()
    call_query = select(CallRecord).where(CallRecord.started_at >= start, CallRecord.started_at < end)
    ticket_query = select(Ticket).where(Ticket.created_at >= start, Ticket.created_at < end)
    if language:
        call_query = call_query.where(CallRecord.language == language)
    if carrier:
        call_query = call_query.where(CallRecord.carrier == carrier)
        ticket_query = ticket_query.where(Ticket.waybill.in_(select(Parcel.waybill).where(Parcel.carrier == carrier)))
    calls = session.scalars(call_query).all()
    tickets = session.scalars(ticket_query).all()
    surveys = session.scalars(select(Callback).where(
        Callback.kind == "survey", Callback.created_at >= start, Callback.created_at < end)).all()

    due_by = to_naive_utc(min(now, period.end) if now else period.end)
    response_due = [t for t in tickets if (t.first_responded_at and t.first_responded_at <= due_by)
                    or t.first_response_due <= due_by]
    local_days = Counter(c.started_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).date() for c in calls)
    days = [(period.start + timedelta(days=n)).date() for n in range((period.end - period.start).days)]
    by_hour = Counter(c.started_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).hour for c in calls)
    durations = [(c.ended_at - c.started_at).total_seconds() for c in calls if c.ended_at]
    closed = [t for t in tickets if t.closed_at]
    scores = [t.survey_score for t in tickets if t.survey_score is not None]
    return {
        "period": period.label,
        "scope": {"language": language or "all", "carrier": carrier or "all"},
        "calls": {
            "total": len(calls),
            "by_hour": [by_hour.get(hour, 0) for hour in range(24)],
            # A week's calls day by day (a day's report has just the one day).
            **({"by_day": {d.isoformat(): local_days.get(d, 0) for d in days}} if len(days) > 1 else {}),
            "by_language": dict(Counter(c.language for c in calls)),
            "by_carrier": dict(Counter(c.carrier or "none" for c in calls)),
            "by_outcome": dict(Counter(c.outcome for c in calls)),
            "average_handling_s": round(sum(durations) / len(durations), 1) if durations else None,
            "contained_in_ivr": ivr_containment(calls),
            "abandoned": sum(c.outcome == "abandoned" for c in calls),
            "self_served": sum(c.outcome in ("self_served", "self_service") for c in calls),
            "after_hours": sum(c.outcome == "after_hours" for c in calls),
        },
        "tickets": {
            "total": len(tickets),
            "by_category": dict(Counter(t.category.value for t in tickets)),
            "first_response_in_time": _ratio(sum(bool(t.first_responded_at and t.first_responded_at <= t.first_response_due)
                                                 for t in response_due), len(response_due)),
            "closed_in_time": _ratio(sum(t.closed_at <= t.closure_due for t in closed), len(tickets)),
            "average_closure_h": round(sum((t.closed_at - t.created_at).total_seconds() for t in closed)
                                       / len(closed) / 3600, 2) if closed else None,
        },
        "satisfaction": {
            "surveys_due": len(surveys),
            "reached": sum(s.status is CallbackStatus.COMPLETED for s in surveys),
            "callback_rate": _ratio(sum(s.status is CallbackStatus.COMPLETED for s in surveys), len(surveys)),
            "average_score": round(sum(scores) / len(scores), 2) if scores else None,
        },
        "hot_spots": hot_spots(session, [t.waybill for t in tickets], start, end),
    }


def hot_spots(session: Session, complained_waybills: list[str], start: datetime, end: datetime) -> dict:
    """Routes and scan locations where the period's exceptions (parcels held up at a scan in it)
    and complaints cluster, with their causes."""
    held_up = (Parcel.status == ParcelStatus.EXCEPTION) & (Parcel.last_scan_at >= start) & (Parcel.last_scan_at < end)
    parcels = session.scalars(select(Parcel).where(held_up | Parcel.waybill.in_(complained_waybills or [""]))).all()
    complaints = Counter(complained_waybills)
    routes: dict[str, Counter] = {}
    places: dict[str, Counter] = {}
    for parcel in parcels:
        cause = parcel.exception_reason.value if parcel.exception_reason else "complaint"
        weight = max(1, complaints[parcel.waybill])
        routes.setdefault(f"{parcel.origin}→{parcel.destination}", Counter())[cause] += weight
        places.setdefault(parcel.last_scan_location or "?", Counter())[cause] += weight

    def top(groups: dict[str, Counter]) -> list[dict]:
        ranked = sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))[:HOT_SPOTS]
        return [{"where": where, "count": sum(causes.values()), "causes": dict(causes.most_common())}
                for where, causes in ranked]

    return {"routes": top(routes), "scan_locations": top(places)}
