"""Tickets (工单) and their history, as stored in SQL."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum as PyEnum

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database import Base
from tickets.categories import ComplaintCategory, Demand


class TicketStatus(str, PyEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    FIRST_RESPONSE = "first_response"
    WAITING_BRANCH = "waiting_branch"
    RESULT_RECEIVED = "result_received"
    CUSTOMER_CONFIRMED = "customer_confirmed"
    CLOSED = "closed"
    ESCALATED = "escalated"


OPEN_STATUSES = tuple(s for s in TicketStatus if s is not TicketStatus.CLOSED)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    category: Mapped[ComplaintCategory] = mapped_column(Enum(ComplaintCategory, native_enum=False, length=32))
    status: Mapped[TicketStatus] = mapped_column(Enum(TicketStatus, native_enum=False, length=24))
    # The four core items every complaint records.
    name: Mapped[str] = mapped_column(String(64))
    waybill: Mapped[str] = mapped_column(String(32), index=True)
    demand: Mapped[Demand] = mapped_column(Enum(Demand, native_enum=False, length=24))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # a caller's tickets, as they join the queue
    channel: Mapped[str] = mapped_column(String(16))
    call_sid: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    first_response_due: Mapped[datetime] = mapped_column(DateTime)
    closure_due: Mapped[datetime] = mapped_column(DateTime)
    # 首接负责制: whoever first takes the ticket owns it to the end.
    owner: Mapped[str] = mapped_column(String(64), default="")
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    claim_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    claim_basis: Mapped[str] = mapped_column(String(24), default="")
    survey_score: Mapped[int | None] = mapped_column(Integer)  # 1-5 from the satisfaction callback
    # A recorded message (suggestions, after-hours messages): the file or the carrier's URL.
    recording: Mapped[str] = mapped_column(String(300), default="")
    transcript: Mapped[str] = mapped_column(Text, default="")

    history: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship(back_populates="history")
