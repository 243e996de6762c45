"""Opening complaints as tickets, with their SLA clocks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.categories import ComplaintCategory, Demand
from tickets.models import OPEN_STATUSES, Ticket, TicketEvent, TicketStatus


@dataclass(frozen=True)
class SlaPolicy:
    """首次响应 and 闭环 limits (the seeds: 1 hour and 24 hours)."""

    first_response: timedelta = timedelta(hours=1)
    closure: timedelta = timedelta(hours=24)


def open_ticket_for(session: Session, waybill: str) -> Ticket | None:
    return session.scalar(
        select(Ticket).where(Ticket.waybill == waybill, Ticket.status.in_(OPEN_STATUSES)).order_by(Ticket.id)
    )


def file_complaint(
    session: Session,
    *,
    category: ComplaintCategory,
    name: str,
    waybill: str,
    demand: Demand,
    phone: str,
    channel: str,
    now: datetime,
    sla: SlaPolicy,
    call_sid: str = "",
) -> tuple[Ticket, bool]:
    """Open a ticket, or add to the open one for the same waybill; (ticket, created)."""
    existing = open_ticket_for(session, waybill)
    if existing is not None:
        existing.history.append(TicketEvent(
            at=now, action="repeat_complaint",
            detail=f"{category.value}; demand {demand.value}; via {channel} {call_sid}".strip(),
        ))
        session.commit()
        return existing, False
    ticket = Ticket(
        number="", category=category, status=TicketStatus.NEW, name=name, waybill=waybill,
        demand=demand, phone=phone, channel=channel, call_sid=call_sid, created_at=now,
        first_response_due=now + sla.first_response, closure_due=now + sla.closure,
    )
    ticket.history.append(TicketEvent(at=now, action="opened", detail=f"via {channel}"))
    session.add(ticket)
    session.flush()
    # Short and speakable: date and a sequence, e.g. 2611240007.
    ticket.number = f"{now:%y%m%d}{ticket.id:04d}"
    session.commit()
    return ticket, True
