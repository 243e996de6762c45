"""Callbacks as stored in SQL: the source of truth; RQ jobs only fire them."""
from __future__ import annotations

from datetime import datetime
from enum import Enum as PyEnum

from sqlalchemy import DateTime, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database import Base


class CallbackStatus(str, PyEnum):
    SCHEDULED = "scheduled"    # an attempt is due (a job waits for it)
    DIALLING = "dialling"      # a worker is placing the call
    AWAITING_AGENT = "awaiting_agent"  # in the ACD's line: an agent is reserved first, then the customer dialled
    RINGING = "ringing"        # placed; the carrier will report the outcome
    COMPLETED = "completed"    # the customer answered
    EXPIRED = "expired"        # the follow-up window closed before anyone answered
    FAILED = "failed"          # out of attempts
    CANCELLED = "cancelled"    # do-not-call, or withdrawn


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    slot: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[CallbackStatus] = mapped_column(Enum(CallbackStatus, native_enum=False, length=16), index=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime)  # UTC, what the caller asked for
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC, inside calling hours
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # "agent": the customer is brought to an agent; "survey": the satisfaction survey (满意度回访).
    kind: Mapped[str] = mapped_column(String(16), default="agent")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    origin_call_sid: Mapped[str] = mapped_column(String(64), default="")
    outbound_call_sid: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)  # UTC, end of the follow-up window
    last_error: Mapped[str] = mapped_column(String(200), default="")
    # The survey's answers (also copied onto the ticket, when there is one).
    survey_score: Mapped[int | None] = mapped_column(Integer)
    survey_comment: Mapped[str] = mapped_column(String(1000), default="")  # the transcript, where there is one
    survey_recording: Mapped[str] = mapped_column(String(300), default="")  # file name or the carrier's URL

    history: Mapped[list[CallbackAttempt]] = relationship(
        back_populates="callback", cascade="all, delete-orphan", order_by="CallbackAttempt.number")

    @property
    def source(self) -> str:
        """Who booked it: ivr_request, agent (agent:<name>), cli, survey_later, ..."""
        return self.reason.partition(":")[0]


class CallbackAttempt(Base):
    """One try at reaching the customer, and how it ended."""

    __tablename__ = "callback_attempts"
    __table_args__ = (UniqueConstraint("callback_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callbacks.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    call_sid: Mapped[str] = mapped_column(String(64), default="", index=True)
    outcome: Mapped[str] = mapped_column(String(24), default="")  # completed, busy, no-answer, machine, ...
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)

    callback: Mapped[Callback] = relationship(back_populates="history")


class DoNotCall(Base):
    """Numbers that asked not to be called: honoured by every outbound call."""

    __tablename__ = "do_not_call"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(64), default="")
