"""Effects a flow's `run` steps ask for: each reads the call's variables, does its work in
the domain (tracking, tickets, callbacks) and returns (outcome, variables to set).

They know nothing of HTTP or Twilio; the edge builds the EffectContext.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqueue.callbacks import book_callback as store_callback
from callqueue.destinations import CallbackRefused, Destinations
from callqueue.hours import CallingHours
from callqueue.lifecycle import move
from callqueue.models import Callback, CallbackStatus, DoNotCall
from clock import from_naive_utc, to_naive_utc
from flows.spoken import say_span
from network import deliveries, pickups
from network.models import PickupOrder
from network.provinces import ENGLISH, province_for_postcode
from network.service import branch_for_postcode, quote
from notices import announcements
from notices import campaign as notice_campaign
from throttling import FailureLimits
from tickets import (
    ComplaintCategory,
    Demand,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketStatus,
    apply,
    file_complaint,
    file_message,
)
from tracking import (
    carrier_choices,
    describe,
    find_by_keyed_digits,
    find_parcel,
    normalise_phone,
    party_for_phone,
    party_for_phone_tail,
    party_name,
)
from tracking.carriers import keyed_digits


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
    callback_destinations: Destinations | None = None
    identity_failures: FailureLimits | None = None  # wrong phone tails, per waybill and per caller


Outcome = tuple[str, dict]


def lookup_parcel(ctx: EffectContext, v: dict) -> Outcome:
    """A new parcel must pass the identity check again. An unknown waybill has no parcel but the
    same vars, so a flow may take it through the same check and tell a stranger nothing.

    Keyed digits that fit several carriers' formats: `several` with the carriers to offer, in
    `carrier_choices`; the caller's key, `carrier_key`, picks one of them (the n-th said)."""
    digits, key = v["waybill_digits"], v.get("carrier_key", "")
    choices = v.get("carrier_choices", "").split() if key else carrier_choices(ctx.session, digits, ctx.caller)
    if choices and not key:
        return "several", {"carrier_choices": " ".join(choices)}
    if choices and not (key.isdigit() and 1 <= int(key) <= len(choices)):
        return "no_such_carrier", {"carrier_key": ""}
    carrier = choices[int(key) - 1] if choices else ""
    parcels = find_by_keyed_digits(ctx.session, digits, ctx.caller, carrier)
    parcel = parcels[0] if parcels else None  # one carrier's: a waybill is unique within it
    return ("found" if parcel else "unknown"), {
        "waybill": parcel.waybill if parcel else "", "carrier": parcel.carrier if parcel else "",
        "party": "", "customer_name": "", "unverified": "", "carrier_key": "", "carrier_choices": ""}


def _verified(parcel, party: str) -> Outcome:
    return "verified", {"party": party, "customer_name": party_name(parcel, party)}


def _identity_subjects(ctx: EffectContext, v: dict) -> dict[str, str]:
    # By the digits keyed, so an unknown waybill is counted (and locked) like a known one.
    return {"waybill": keyed_digits(v["waybill_digits"]), "caller": normalise_phone(ctx.caller)}


def _identity_locked(ctx: EffectContext, v: dict) -> bool:
    return bool(ctx.identity_failures and ctx.identity_failures.locked_for(**_identity_subjects(ctx, v)))


def check_caller(ctx: EffectContext, v: dict) -> Outcome:
    """A caller ID that is the parcel's sender or recipient is verified, lockout or not (an
    attacker locking a waybill must not lock out its owner); anyone else is asked the phone tail."""
    parcel = find_parcel(ctx.session, v["waybill"]) if v["waybill"] else None
    if parcel and (party := party_for_phone(parcel, ctx.caller)):
        return _verified(parcel, party)
    return ("locked", {}) if _identity_locked(ctx, v) else ("needs_tail", {})


def verify_phone_tail(ctx: EffectContext, v: dict) -> Outcome:
    if _identity_locked(ctx, v):
        return "locked", {}
    parcel = find_parcel(ctx.session, v["waybill"]) if v["waybill"] else None
    if parcel and (party := party_for_phone_tail(parcel, v["phone_tail"])):
        return _verified(parcel, party)
    if ctx.identity_failures and ctx.identity_failures.failed(**_identity_subjects(ctx, v)):
        return "locked", {}
    return "wrong", {}


def describe_parcel(ctx: EffectContext, v: dict) -> Outcome:
    parcel = find_parcel(ctx.session, v["waybill"])
    return "described", describe(parcel, ctx.hours.local(ctx.now).date()).as_vars()


def open_ticket(ctx: EffectContext, v: dict) -> Outcome:
    unverified = bool(v.get("unverified"))
    ticket, created = file_complaint(
        ctx.session, category=ComplaintCategory(v["category"]), name=v["customer_name"],
        # An unknown number is kept as keyed, so the agent sees what the caller asked about.
        waybill=v["waybill"] or keyed_digits(v["waybill_digits"]), demand=Demand(v["demand"]),
        phone=v["contact_phone"], channel="hotline", now=to_naive_utc(ctx.now),
        sla=ctx.sla, call_sid=ctx.call_sid, unverified=unverified,
    )
    return ("opened" if created else "linked"), {
        "ticket_number": ticket.number,
        "first_response_minutes": int(ctx.sla.first_response.total_seconds() // 60),
        "closure_hours": int(ctx.sla.closure.total_seconds() // 3600),
    }


def book_callback(ctx: EffectContext, v: dict) -> Outcome:
    try:
        callback, moved = store_callback(
            ctx.session, phone=_customer_phone(ctx, v), slot=v["slot"], now=ctx.now, hours=ctx.hours,
            reason="ivr_request", origin_call_sid=ctx.call_sid, window=ctx.callback_window,
            destinations=ctx.callback_destinations,
        )
    except CallbackRefused:
        return "refused", {}
    ctx.schedule_callback(callback)
    due_local = ctx.hours.local(from_naive_utc(callback.due_at))
    return ("moved" if moved else "booked"), {"callback_time": due_local.isoformat(timespec="minutes")}


def leave_message(ctx: EffectContext, v: dict) -> Outcome:
    """A recorded message (after hours) or suggestion becomes a ticket with its recording."""
    ticket = file_message(
        ctx.session, category=ComplaintCategory(v["message_kind"]), phone=normalise_phone(ctx.caller),
        recording=v["message"], transcript=v.get("message_text", ""), now=to_naive_utc(ctx.now), sla=ctx.sla,
        name=v.get("customer_name", ""), waybill=v.get("waybill", ""), call_sid=ctx.call_sid,
    )
    return "saved", {"ticket_number": ticket.number}


def _announcement_text(found, language: str) -> Outcome:
    texts = [a.text for a in found if announcements.written_for(a.text, language)]
    if not texts:
        return "none", {}
    return "some", {"announcement_text": " ".join(texts)}


def general_announcements(ctx: EffectContext, v: dict) -> Outcome:
    """Announcements for every caller (holiday arrangements, weather, a backlog), after the greeting."""
    return _announcement_text(announcements.general(ctx.session, ctx.hours.local(ctx.now).date()),
                              v.get("language", ""))


def parcel_announcements(ctx: EffectContext, v: dict) -> Outcome:
    """Announcements whose scope (carrier, region, route) takes in the caller's parcel."""
    parcel = find_parcel(ctx.session, v["waybill"])
    return _announcement_text(announcements.for_parcel(ctx.session, parcel, ctx.hours.local(ctx.now).date()),
                              v.get("language", ""))


def _place(province: str, language: str) -> str:
    return ENGLISH[province] if language == "en-US" else province


def _yuan(amount) -> str:
    return f"{amount.normalize():f}"


def quote_fee(ctx: EffectContext, v: dict) -> Outcome:
    """The fee and transit time, per service, from origin to destination (postal codes) by weight."""
    origin, destination = province_for_postcode(v["origin_postcode"]), province_for_postcode(v["destination_postcode"])
    if origin is None or destination is None:
        return "unknown_area", {}
    language = v.get("language", "")
    data = {"origin_name": _place(origin, language), "destination_name": _place(destination, language),
            "has_standard": "", "has_express": ""}
    quotes = quote(ctx.session, origin, destination, int(v["weight_kg"]))
    for service, offer in quotes.items():
        data |= {f"has_{service}": "yes", f"{service}_price": _yuan(offer.price), f"{service}_days": offer.transit_days}
    return ("quoted" if quotes else "no_tariff"), data


def find_branch(ctx: EffectContext, v: dict) -> Outcome:
    branch = branch_for_postcode(ctx.session, v["area_postcode"])
    if branch is None:
        return "unknown_area", {}
    language = v.get("language", "")
    points = "；".join(f"{p['name']}，{p['address']}，{say_span(language, p['hours']) if p['hours'] else ''}"
                      .strip("，") for p in branch.pickup_points)
    return "found", {"branch_name": branch.name, "branch_area": branch.area, "branch_phone": branch.phone,
                     "branch_hours": branch.hours, "pickup_points": points,
                     "has_pickup_points": "yes" if points else ""}


def describe_noticed_parcel(ctx: EffectContext, v: dict) -> Outcome:
    """The parcel a notice call is about, as the tracking caller would hear it."""
    callback = ctx.session.get(Callback, int(v["callback_id"]))
    parcel = find_parcel(ctx.session, notice_campaign.waybill_of(callback))
    if parcel is None or parcel.exception_reason is None:
        return "gone", {}  # delivered or cleared since the notice was booked
    return "described", describe(parcel, ctx.hours.local(ctx.now).date()).as_vars()


def notice_callback(ctx: EffectContext, v: dict) -> Outcome:
    callback = ctx.session.get(Callback, int(v["callback_id"]))
    try:
        later, _ = store_callback(ctx.session, phone=callback.phone, slot="afternoon", now=ctx.now,
                                  hours=ctx.hours, reason="notice_request", origin_call_sid=ctx.call_sid,
                                  window=ctx.callback_window, destinations=ctx.callback_destinations)
    except CallbackRefused:
        return "refused", {}
    ctx.schedule_callback(later)
    return "booked", {"contact_phone": callback.phone,
                      "callback_time": ctx.hours.local(from_naive_utc(later.due_at)).isoformat(timespec="minutes")}


def _customer_phone(ctx: EffectContext, v: dict) -> str:
    return normalise_phone(v.get("contact_phone") or ctx.caller)


def pickup_address(ctx: EffectContext, v: dict) -> Outcome:
    address = pickups.saved_address(ctx.session, _customer_phone(ctx, v))
    return ("saved", {"saved_address": address}) if address else ("none", {})


def pickup_slots(ctx: EffectContext, v: dict) -> Outcome:
    """Which slots to offer: this afternoon's only until it begins."""
    return ("today" if pickups.still_open("today_afternoon", ctx.hours.local(ctx.now)) else "tomorrow"), {}


def book_pickup(ctx: EffectContext, v: dict) -> Outcome:
    """Book (or, with an order found by number, move) a pickup in the slot the caller chose."""
    local_now = ctx.hours.local(ctx.now)
    try:
        if v.get("pickup_order"):
            order = pickups.move(ctx.session, ctx.session.get(PickupOrder, int(v["pickup_order"])), v["pickup_slot"],
                                 local_now)
        else:
            order = pickups.book(
                ctx.session, branch=branch_for_postcode(ctx.session, v["area_postcode"]),
                phone=_customer_phone(ctx, v), postcode=v["area_postcode"], slot=v["pickup_slot"],
                local_now=local_now, now=to_naive_utc(ctx.now),
                address=v.get("saved_address", "") if v.get("address_choice") == "saved" else "",
                address_recording=v.get("address_message", ""))
    except pickups.SlotUnavailable as unavailable:
        return unavailable.why, {}
    return "booked", {"pickup_number": order.number, "pickup_day": order.day.isoformat(),
                      "pickup_hours": pickups.window_hours(order.window)}


def find_pickup(ctx: EffectContext, v: dict) -> Outcome:
    order = pickups.find_order(ctx.session, v["pickup_number_entered"], _customer_phone(ctx, v))
    if order is None:
        return "unknown", {}
    return "found", {"pickup_order": str(order.id), "pickup_number": order.number,
                     "pickup_day": order.day.isoformat(), "pickup_hours": pickups.window_hours(order.window)}


def cancel_pickup(ctx: EffectContext, v: dict) -> Outcome:
    pickups.cancel(ctx.session, ctx.session.get(PickupOrder, int(v["pickup_order"])))
    return "cancelled", {}


DELIVERY_SLOTS = {"tomorrow_morning": (1, "morning"), "tomorrow_afternoon": (1, "afternoon"),
                  "tomorrow_evening": (1, "evening"), "day_after": (2, "daytime")}


def check_change(ctx: EffectContext, v: dict) -> Outcome:
    """Only the recipient changes a delivery (the sender may also send it back), before it is signed."""
    parcel = find_parcel(ctx.session, v["waybill"])
    why = deliveries.refusal(parcel, v.get("party", ""), "return" if v.get("purpose") == "return" else "change")
    return why or "allowed", {}


def _delivery_request(ctx: EffectContext, v: dict, kind: str, detail: str, ticket_id: int | None = None):
    return deliveries.record(ctx.session, find_parcel(ctx.session, v["waybill"]), kind=kind, detail=detail,
                             phone=normalise_phone(ctx.caller), now=to_naive_utc(ctx.now), ticket_id=ticket_id)


def reschedule_delivery(ctx: EffectContext, v: dict) -> Outcome:
    offset, window = DELIVERY_SLOTS[v["delivery_slot"]]
    day = ctx.hours.local(ctx.now).date() + timedelta(days=offset)
    _delivery_request(ctx, v, "reschedule", f"{day.isoformat()} {window}")
    return "done", {"delivery_day": day.isoformat(), "delivery_window": window}


def pickup_points_for_parcel(ctx: EffectContext, v: dict) -> Outcome:
    branch = deliveries.delivering_branch(ctx.session, find_parcel(ctx.session, v["waybill"]))
    points = branch.pickup_points if branch else []
    if not points:
        return "none", {}
    listing = "；".join(f"{n}，{p['name']}，{p['address']}".strip("，") for n, p in enumerate(points, start=1))
    return "some", {"pickup_point_list": listing}


def redirect_to_point(ctx: EffectContext, v: dict) -> Outcome:
    branch = deliveries.delivering_branch(ctx.session, find_parcel(ctx.session, v["waybill"]))
    points = branch.pickup_points if branch else []
    choice = int(v["point_choice"])
    if not 1 <= choice <= len(points):
        return "invalid", {}
    name = points[choice - 1]["name"]
    _delivery_request(ctx, v, "pickup_point", name)
    return "redirected", {"pickup_point_name": name}


def request_address_change(ctx: EffectContext, v: dict) -> Outcome:
    """A new address is the delivery branch's to confirm: a ticket, with the caller's words."""
    ticket, _ = file_complaint(
        ctx.session, category=ComplaintCategory.ADDRESS_CHANGE, name=v.get("customer_name", ""),
        waybill=v["waybill"], demand=Demand.REDELIVERY, phone=normalise_phone(ctx.caller), channel="hotline",
        now=to_naive_utc(ctx.now), sla=ctx.sla, call_sid=ctx.call_sid)
    ticket.recording, ticket.transcript = v["new_address"][:300], v.get("new_address_text", "")
    ctx.session.commit()
    _delivery_request(ctx, v, "address", v["new_address"], ticket_id=ticket.id)
    return "requested", {"ticket_number": ticket.number,
                         "first_response_minutes": int(ctx.sla.first_response.total_seconds() // 60)}


def return_quote(ctx: EffectContext, v: dict) -> Outcome:
    fee = deliveries.return_fee(ctx.session, find_parcel(ctx.session, v["waybill"]))
    if fee is None:
        return "unknown_fee", {}
    return ("free", {}) if fee == 0 else ("fee", {"return_fee": _yuan(fee)})


def request_return(ctx: EffectContext, v: dict) -> Outcome:
    _delivery_request(ctx, v, "return", v.get("return_fee", ""))
    return "requested", {}


LOW_SCORE = 2  # a score this low reopens the ticket and escalates it to a supervisor


def record_survey(ctx: EffectContext, v: dict) -> Outcome:
    callback = ctx.session.get(Callback, int(v["callback_id"]))
    score = int(v["score"])
    callback.survey_score = score
    ticket = _survey_ticket(ctx, callback)
    if ticket is not None:
        ticket.survey_score = score
        ticket.history.append(TicketEvent(at=to_naive_utc(ctx.now), action="survey", detail=f"score {score}"))
    ctx.session.commit()
    if ticket is not None and score <= LOW_SCORE:
        if ticket.status is TicketStatus.CLOSED:
            apply(ctx.session, ticket, "reopen", now=to_naive_utc(ctx.now), actor="survey")
        apply(ctx.session, ticket, "escalate", now=to_naive_utc(ctx.now), actor="survey",
              detail=f"satisfaction score {score}")
    low = score <= LOW_SCORE
    return ("low" if low else "saved"), {"score_band": "low" if low else "ok"}


def save_survey_comment(ctx: EffectContext, v: dict) -> Outcome:
    """The customer's spoken comment: its recording and transcript go with the survey and the ticket."""
    callback = ctx.session.get(Callback, int(v["callback_id"]))
    callback.survey_recording = v["comment"][:300]
    callback.survey_comment = v.get("comment_text", "")[:1000]
    ticket = _survey_ticket(ctx, callback)
    if ticket is not None:
        detail = f"comment: {callback.survey_comment}" if callback.survey_comment else "comment recorded"
        ticket.history.append(TicketEvent(at=to_naive_utc(ctx.now), action="survey_comment",
                                          detail=f"{detail} ({callback.survey_recording})"[:500]))
    ctx.session.commit()
    return "saved", {}


def _survey_ticket(ctx: EffectContext, callback: Callback) -> Ticket | None:
    return ctx.session.get(Ticket, callback.ticket_id) if callback.ticket_id else None


def survey_later(ctx: EffectContext, v: dict) -> Outcome:
    callback = ctx.session.get(Callback, int(v["callback_id"]))
    later, _ = store_callback(
        ctx.session, phone=callback.phone, slot="tomorrow_morning", now=ctx.now, hours=ctx.hours,
        reason="survey_later", origin_call_sid=ctx.call_sid, window=ctx.callback_window, kind="survey",
        ticket_id=callback.ticket_id,
    )
    ctx.schedule_callback(later)
    return "booked", {"callback_time": ctx.hours.local(from_naive_utc(later.due_at)).isoformat(timespec="minutes")}


def opt_out(ctx: EffectContext, v: dict) -> Outcome:
    """Put the customer on the do-not-call list; their pending survey calls are cancelled."""
    callback = ctx.session.get(Callback, int(v["callback_id"]))
    phone = normalise_phone(callback.phone)
    if ctx.session.get(DoNotCall, phone) is None:
        ctx.session.add(DoNotCall(phone=phone, added_at=to_naive_utc(ctx.now), reason="survey opt-out"))
    for pending in ctx.session.scalars(select(Callback).where(
            Callback.phone == callback.phone, Callback.kind == "survey",
            Callback.status == CallbackStatus.SCHEDULED)).all():
        move(ctx.session, pending, "cancel")
    ctx.session.commit()
    return "done", {}


EFFECTS: dict[str, Callable[[EffectContext, dict], Outcome]] = {
    f.__name__: f
    for f in (lookup_parcel, check_caller, verify_phone_tail, describe_parcel, open_ticket, book_callback,
              leave_message, quote_fee, find_branch, general_announcements, parcel_announcements,
              pickup_address, pickup_slots, book_pickup, find_pickup, cancel_pickup, check_change, reschedule_delivery,
              pickup_points_for_parcel, redirect_to_point, request_address_change, return_quote, request_return,
              describe_noticed_parcel, notice_callback, record_survey, save_survey_comment, survey_later, opt_out)
}
