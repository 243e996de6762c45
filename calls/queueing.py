"""Which line of the agents' queue a caller joins, and with what priority."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqueue.acd import skill
from calls.records import CallRecord
from calls.session import CallSession
from clock import to_naive_utc
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


def line_for(call: CallSession) -> str:
    """The skill a caller needs: their language, and the complaint category if they chose one."""
    return skill(call.language, call.flow_vars.get("category", ""))
