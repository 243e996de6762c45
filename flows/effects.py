"""Effects a flow's `run` steps ask for: each reads the call's variables, does its work in
the domain (tracking, tickets, callbacks) and returns (outcome, variables to set).

They know nothing of HTTP or Twilio; the edge builds the EffectContext.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from callqueue.callbacks import book_callback as store_callback
from clock import from_naive_utc, to_naive_utc
from callqueue.hours import CallingHours
from tickets import ComplaintCategory, Demand, SlaPolicy, file_complaint
from tracking import describe, find_by_keyed_digits, find_parcel, party_for_phone, party_for_phone_tail, party_name


@dataclass
class EffectContext:
    session: Session
    now: datetime  # timezone-aware
    caller: str
    call_sid: str
    sla: SlaPolicy
    hours: CallingHours
    schedule_callback: Callable  # (Callback) -> None, hands it to the job scheduler
    callback_window: timedelta = timedelta(days=3)


Outcome = tuple[str, dict]


def lookup_parcel(ctx: EffectContext, v: dict) -> Outcome:
    parcel = find_by_keyed_digits(ctx.session, v["waybill_digits"], ctx.caller)
    if parcel is None:
        return "unknown", {}
    # A new parcel must pass the identity check again.
    return "found", {"waybill": parcel.waybill, "carrier": parcel.carrier, "party": "", "customer_name": ""}


def _verified(parcel, party: str) -> Outcome:
    return "verified", {"party": party, "customer_name": party_name(parcel, party)}


def check_caller(ctx: EffectContext, v: dict) -> Outcome:
    parcel = find_parcel(ctx.session, v["waybill"])
    party = party_for_phone(parcel, ctx.caller)
    return _verified(parcel, party) if party else ("needs_tail", {})


def verify_phone_tail(ctx: EffectContext, v: dict) -> Outcome:
    parcel = find_parcel(ctx.session, v["waybill"])
    party = party_for_phone_tail(parcel, v["phone_tail"])
    return _verified(parcel, party) if party else ("wrong", {})


def describe_parcel(ctx: EffectContext, v: dict) -> Outcome:
    parcel = find_parcel(ctx.session, v["waybill"])
    return "described", describe(parcel, ctx.hours.local(ctx.now).date()).as_vars()


def open_ticket(ctx: EffectContext, v: dict) -> Outcome:
    ticket, created = file_complaint(
        ctx.session, category=ComplaintCategory(v["category"]), name=v["customer_name"],
        waybill=v["waybill"], demand=Demand(v["demand"]), phone=v["contact_phone"], channel="hotline",
        now=to_naive_utc(ctx.now),
        sla=ctx.sla, call_sid=ctx.call_sid,
    )
    return ("opened" if created else "linked"), {
        "ticket_number": ticket.number,
        "first_response_minutes": int(ctx.sla.first_response.total_seconds() // 60),
        "closure_hours": int(ctx.sla.closure.total_seconds() // 3600),
    }


def book_callback(ctx: EffectContext, v: dict) -> Outcome:
    callback, moved = store_callback(
        ctx.session, phone=v["contact_phone"], slot=v["slot"], now=ctx.now, hours=ctx.hours,
        reason="ivr_request", origin_call_sid=ctx.call_sid, window=ctx.callback_window,
    )
    ctx.schedule_callback(callback)
    due_local = ctx.hours.local(from_naive_utc(callback.due_at))
    return ("moved" if moved else "booked"), {"callback_time": due_local.isoformat(timespec="minutes")}


EFFECTS: dict[str, Callable[[EffectContext, dict], Outcome]] = {
    f.__name__: f
    for f in (lookup_parcel, check_caller, verify_phone_tail, describe_parcel, open_ticket, book_callback)
}
