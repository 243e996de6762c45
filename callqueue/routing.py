"""Between calls and the ACD: which line a caller joins, with what priority, and how an
accepted offer is connected (the waiting call redirected, or the customer called back)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqueue.acd import Distributor, Offer, skill
from clock import to_naive_utc
from ivr.keys import key_for
from ivr.records import CallRecord
from tickets.models import Ticket, TicketStatus
from tracking.service import normalise_phone

REPEAT_WINDOW = timedelta(hours=24)


def priority_for(session: Session, phone: str, now, vip_numbers: set[str]) -> tuple[str, ...]:
    """escalated: an escalated ticket of this phone; vip: a listed number; repeat_caller: called in 24 h."""
    phone = normalise_phone(phone)
    reasons = []
    if phone and session.scalar(select(Ticket.id).where(
            Ticket.phone == phone, Ticket.status == TicketStatus.ESCALATED).limit(1)):
        reasons.append("escalated")
    if phone in vip_numbers:
        reasons.append("vip")
    since = to_naive_utc(now - REPEAT_WINDOW)
    if phone and session.scalar(select(CallRecord.id).where(
            CallRecord.from_phone.in_([phone, "+86" + phone]), CallRecord.started_at >= since).limit(1)):
        reasons.append("repeat_caller")
    return tuple(reasons)


def line_for(call: dict) -> str:
    """The skill a caller needs: their language, and the complaint category if they chose one."""
    return skill(call["language"], call["state"].get("vars", {}).get("category", ""))


def connect(offer: Offer, call_phone: str, telephony, base_url: str) -> str:
    """Connect an accepted offer: redirect the waiting caller to the agent, or dial back a caller
    who kept their place. Returns the SID of the call that now rings."""
    url = f"{base_url}/voice/connect/{offer.agent_id}"
    if offer.callback:
        return telephony.place_call(to=call_phone, url=url + "?kept_place=1",
                                    status_callback=f"{base_url}/voice/status")
    telephony.redirect(offer.call_sid, url)
    return offer.call_sid


def kept_place_key(dialled_sid: str) -> str:
    """The dialled callback's SID -> the queued call whose place it serves."""
    return key_for("acd:kept_place_call", dialled_sid)


SCHEDULED_CALLBACK_PREFIX = "CB-"


def scheduled_callback_sid(callback_id: int, attempt: int) -> str:
    """The ACD's name for an attempt of a scheduled callback that reserves an agent first."""
    return f"{SCHEDULED_CALLBACK_PREFIX}{callback_id}-{attempt}"


def scheduled_callback_attempt(acd_sid: str) -> tuple[int, int] | None:
    """(callback id, attempt number) of a scheduled callback's ACD entry; None for other calls."""
    if not acd_sid.startswith(SCHEDULED_CALLBACK_PREFIX):
        return None
    callback_id, _, attempt = acd_sid.removeprefix(SCHEDULED_CALLBACK_PREFIX).partition("-")
    return int(callback_id), int(attempt)


def distributor(connection, config) -> Distributor:
    return Distributor(connection, wrap_up_s=config["WRAP_UP_SECONDS"])
