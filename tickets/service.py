"""Opening complaints as tickets, with their SLA clocks."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.categories import MESSAGE_CATEGORIES, ComplaintCategory, Demand
from tickets.models import OPEN_STATUSES, Ticket, TicketEvent, TicketStatus

DEFAULT_ZONE = "Asia/Shanghai"  # HOTLINE_TIMEZONE's default


@dataclass(frozen=True)
class SlaPolicy:
    """首次响应 and 闭环 limits (the seeds: 1 hour and 24 hours), and the hotline's time zone,
    whose date ticket numbers carry."""

    first_response: timedelta = timedelta(hours=1)
    closure: timedelta = timedelta(hours=24)
    zone: ZoneInfo = ZoneInfo(DEFAULT_ZONE)


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
    unverified: bool = False,
) -> tuple[Ticket, bool]:
    """Open a ticket, or add to the open one for the same waybill; (ticket, created). A caller
    who failed the identity check gets a ticket of their own, marked unverified in its history:
    joining the parcel's ticket would tell them it has one."""
    existing = None if unverified else open_ticket_for(session, waybill)
    if existing is not None:
        existing.history.append(TicketEvent(
            at=now, action="repeat_complaint",
            detail=f"{category.value}; demand {demand.value}; via {channel} {call_sid}".strip(),
        ))
        session.commit()
        return existing, False
    ticket = _open(session, Ticket(category=category, name=name, waybill=waybill, demand=demand, phone=phone,
                                   channel=channel, call_sid=call_sid), now, sla)
    if unverified:
        ticket.history.append(TicketEvent(at=now, action="unverified",
                                          detail="the caller failed the phone-tail check; nothing of the parcel was told"))
        session.commit()
    return ticket, True


def file_message(session: Session, *, category: ComplaintCategory, phone: str, recording: str, transcript: str,
                 now: datetime, sla: SlaPolicy, name: str = "", waybill: str = "", call_sid: str = "") -> Ticket:
    """A recorded suggestion or after-hours message becomes a ticket of its own (never linked)."""
    if category not in MESSAGE_CATEGORIES:
        raise ValueError(f"{category.value} is not a message category")
    demand = Demand.CALL_BACK if category is ComplaintCategory.MESSAGE else Demand.NONE
    return _open(session, Ticket(category=category, name=name, waybill=waybill, demand=demand, phone=phone,
                                 channel="voicemail", call_sid=call_sid, recording=recording[:300],
                                 transcript=transcript), now, sla)


def _open(session: Session, ticket: Ticket, now: datetime, sla: SlaPolicy) -> Ticket:
    ticket.number, ticket.status, ticket.created_at = "", TicketStatus.NEW, now
    ticket.first_response_due, ticket.closure_due = now + sla.first_response, now + sla.closure
    ticket.history.append(TicketEvent(at=now, action="opened", detail=f"via {ticket.channel}"))
    session.add(ticket)
    session.flush()
    # Short and speakable: the local date and a sequence, e.g. 2611240007 (now is naive UTC).
    ticket.number = f"{now.replace(tzinfo=UTC).astimezone(sla.zone):%y%m%d}{ticket.id:04d}"
    session.commit()
    return ticket


def apply(session: Session, ticket: Ticket, trigger: str, *, now: datetime, actor: str, detail: str = "") -> Ticket:
    """Move a ticket through its lifecycle, stamping SLA clocks and recording who did what."""
    from tickets.lifecycle import next_status

    target = next_status(ticket.status, trigger)
    if trigger == "assign" and not ticket.owner:
        ticket.owner = actor  # the first taker owns the ticket to the end
    if trigger == "respond" and ticket.first_responded_at is None:
        ticket.first_responded_at = now
    if trigger == "close":
        ticket.closed_at = now
    if trigger == "escalate":
        ticket.escalated_at = now
    if trigger == "reopen":
        ticket.closed_at = None
    ticket.status = target
    ticket.history.append(TicketEvent(at=now, action=trigger, detail=f"{actor}: {detail}".rstrip(": ")))
    session.commit()
    return ticket


EDITABLE = ("name", "phone", "demand")


def edit_ticket(session: Session, ticket: Ticket, changes: dict, *, now: datetime, actor: str,
                notes: str = "") -> Ticket:
    """Correct the customer's details (name, phone, demand) and add a note; each recorded."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot edit {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}")
    changed = []
    for field, value in changes.items():
        if getattr(ticket, field) != value:
            setattr(ticket, field, value)
            changed.append(field)
    if changed:
        ticket.history.append(TicketEvent(at=now, action="edited", detail=f"{actor}: {', '.join(changed)}"))
    if notes:
        ticket.history.append(TicketEvent(at=now, action="note", detail=f"{actor}: {notes}"))
    session.commit()
    return ticket


def escalate_breaches(session: Session, now: datetime) -> list[Ticket]:
    """Escalate every open ticket that missed a limit and is not escalated yet (run periodically)."""
    from tickets.sla import breached_tickets, breaches

    escalated = []
    for ticket in breached_tickets(session, now):
        if ticket.status is not TicketStatus.ESCALATED:
            apply(session, ticket, "escalate", now=now, actor="system",
                  detail="SLA breached: " + ", ".join(breaches(ticket, now)))
            escalated.append(ticket)
    return escalated


def record_claim(session: Session, ticket: Ticket, assessment, *, now: datetime, actor: str) -> Ticket:
    ticket.claim_amount, ticket.claim_basis = assessment.amount, assessment.basis
    ticket.history.append(TicketEvent(
        at=now, action="claim", detail=f"{actor}: {assessment.amount} ({assessment.basis}"
                                       f"{', negotiable' if assessment.negotiable else ''})"))
    session.commit()
    return ticket
