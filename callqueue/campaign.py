"""The satisfaction campaign (满意度回访): every closed complaint and every re-delivered parcel
gets a survey callback, within calling hours, honouring the do-not-call list.

Survey calls are callbacks of kind "survey": they share the scheduler, retries, answering
machine handling, exactly-once dialling and pacing of every outbound call.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqueue.callbacks import book_callback, do_not_call_numbers, why_not_callable
from callqueue.destinations import CallbackRefused, Destinations
from callqueue.hours import CallingHours
from callqueue.models import Callback, CallbackStatus
from clock import from_naive_utc
from importing import ImportReport, RowError, import_each, read_records, require, text_of
from masking import mask_phone, mask_waybill
from tickets.models import Ticket, TicketStatus
from tracking.carriers import normalise_waybill
from tracking.models import Parcel, ScanEvent
from tracking.service import PHONE_NUMBER_RULE, find_parcel, is_phone_number, normalise_phone
from tracking.status import ParcelStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Contact:
    phone: str
    reason: str             # ticket_closed:<number> or redelivered:<waybill>
    ticket_id: int | None = None


@dataclass(frozen=True)
class Plan:
    due: list[Contact]
    skipped: list[tuple[Contact, str]]  # and why


def _surveyed_reasons(session: Session) -> set[str]:
    return set(session.scalars(select(Callback.reason).where(Callback.kind == "survey")))


def contacts(session: Session) -> list[Contact]:
    """Closed complaints and re-delivered parcels (an exception, then signed)."""
    found = [Contact(normalise_phone(t.phone), f"ticket_closed:{t.number}", t.id)
             for t in session.scalars(select(Ticket).where(Ticket.status == TicketStatus.CLOSED).order_by(Ticket.id))]
    had_exception = select(ScanEvent.parcel_id).where(ScanEvent.status == ParcelStatus.EXCEPTION)
    for parcel in session.scalars(select(Parcel).where(Parcel.status == ParcelStatus.SIGNED,
                                                       Parcel.id.in_(had_exception)).order_by(Parcel.id)):
        found.append(Contact(normalise_phone(parcel.recipient_phone), f"redelivered:{parcel.waybill}"))
    return found


def plan(session: Session) -> Plan:
    surveyed = _surveyed_reasons(session)
    blocked = do_not_call_numbers(session)
    due, skipped = [], []
    for contact in contacts(session):
        if contact.reason in surveyed:
            continue  # already in the campaign
        why_not = why_not_callable(contact.phone, blocked)
        if why_not:
            skipped.append((contact, why_not))
        else:
            due.append(contact)
    return Plan(due, skipped)


def run(session: Session, *, now: datetime, hours: CallingHours, window: timedelta, schedule,
        destinations: Destinations | None = None) -> list[Callback]:
    """Book a survey callback for every due contact (the soonest opening in calling hours);
    a number the destinations refuse is left out."""
    booked = []
    for contact in plan(session).due:
        try:
            callback, _ = book_callback(session, phone=contact.phone, slot="soonest", now=now, hours=hours,
                                        reason=contact.reason, window=window, kind="survey",
                                        ticket_id=contact.ticket_id, destinations=destinations)
        except CallbackRefused as refused:
            log.info("no survey call to %s: %s", mask_phone(contact.phone), refused)
            continue
        schedule(callback)
        booked.append(callback)
    return booked


CONTACT_COLUMNS = ("phone",)


def import_contacts(session: Session, path: Path, *, now: datetime, hours: CallingHours, window: timedelta,
                    schedule, destinations: Destinations | None = None) -> ImportReport:
    """Survey contacts from a CSV or JSON file: `phone`, and optionally `waybill` (the delivery
    the survey is about) and `ticket` (a ticket number: the survey's score goes to that ticket).
    Each new contact gets a survey call at the next opening of calling hours; one already in
    the campaign counts as updated and is not called again."""
    records = read_records(path, CONTACT_COLUMNS, "contacts")
    surveyed = _surveyed_reasons(session)
    blocked = do_not_call_numbers(session)

    def store(record: dict) -> bool:
        require(record, CONTACT_COLUMNS)
        phone = normalise_phone(text_of(record, "phone"))
        if not phone:  # no digit in it: nothing to mask
            raise RowError(f"phone {text_of(record, 'phone')[:40]!r} holds no digits")
        if not is_phone_number(phone):
            raise RowError(f"phone {mask_phone(phone)} is not a phone number ({PHONE_NUMBER_RULE})")
        ticket = None
        if text_of(record, "ticket"):
            ticket = session.scalar(select(Ticket).where(Ticket.number == text_of(record, "ticket")))
            if ticket is None:
                raise RowError(f"unknown ticket {text_of(record, 'ticket')!r}")
        waybill = normalise_waybill(text_of(record, "waybill"))
        if waybill and find_parcel(session, waybill) is None:
            raise RowError(f"no parcel has waybill {mask_waybill(waybill)}")
        why_not = why_not_callable(phone, blocked)
        if why_not:
            raise RowError(why_not)
        reason = f"ticket_closed:{ticket.number}" if ticket else f"imported:{waybill or phone}"
        if reason in surveyed:
            return False
        try:
            callback, _ = book_callback(session, phone=phone, slot="soonest", now=now, hours=hours, reason=reason,
                                        window=window, kind="survey", ticket_id=ticket.id if ticket else None,
                                        destinations=destinations)
        except CallbackRefused as refused:
            raise RowError(str(refused)) from None
        schedule(callback)
        surveyed.add(reason)
        return True

    return import_each(records, store)


def daily_figures(session: Session, hours: CallingHours) -> list[dict]:
    """Per local day: surveys due, customers reached (回访率 = reached / due), average score."""
    days: dict[date, dict] = {}
    for callback in session.scalars(select(Callback).where(Callback.kind == "survey")):
        day = hours.local(from_naive_utc(callback.created_at)).date()
        figures = days.setdefault(day, {"day": day.isoformat(), "due": 0, "reached": 0, "scores": []})
        figures["due"] += 1
        figures["reached"] += callback.status is CallbackStatus.COMPLETED
        if callback.survey_score is not None:
            figures["scores"].append(callback.survey_score)
    for figures in days.values():
        figures["rate"] = round(figures["reached"] / figures["due"], 3) if figures["due"] else None
        scores = figures.pop("scores")
        figures["average_score"] = round(sum(scores) / len(scores), 2) if scores else None
    return [days[d] for d in sorted(days)]
