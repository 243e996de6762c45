"""SLA clocks: first response within 1 hour, closure within 24 (both configurable)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from tickets.models import OPEN_STATUSES, Ticket


@dataclass(frozen=True)
class Clock:
    due: datetime
    met_at: datetime | None

    def breached(self, now: datetime) -> bool:
        return (self.met_at or now) > self.due

    def remaining(self, now: datetime) -> timedelta:
        """Time left (negative when overdue); zero once met."""
        return timedelta(0) if self.met_at else self.due - now


def clocks(ticket: Ticket) -> dict[str, Clock]:
    return {
        "first_response": Clock(ticket.first_response_due, ticket.first_responded_at),
        "closure": Clock(ticket.closure_due, ticket.closed_at),
    }


def breaches(ticket: Ticket, now: datetime) -> list[str]:
    return [name for name, clock in clocks(ticket).items() if clock.breached(now)]


def _breached(now: datetime):
    """Open tickets past a limit: no first response in time, or not closed in time."""
    return (
        Ticket.status.in_(OPEN_STATUSES),
        or_(
            (Ticket.first_responded_at.is_(None) & (Ticket.first_response_due < now)),
            Ticket.first_responded_at > Ticket.first_response_due,
            Ticket.closure_due < now,
        ),
    )


def breached_tickets(session: Session, now: datetime) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(*_breached(now)).order_by(Ticket.closure_due)))


def breached_count(session: Session, now: datetime) -> int:
    return session.scalar(select(func.count(Ticket.id)).where(*_breached(now)))
