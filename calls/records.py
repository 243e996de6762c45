"""Call records: what each call did (events, what the caller heard and pressed, outcome).

Written when the carrier reports the call finished; reports are computed from them.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from calls.session import CallSession
from database import Base

# Outcomes of calls the IVR settled without an agent (IVR containment). `self_service` is what
# records written before `self_served` said.
CONTAINED_OUTCOMES = frozenset({"self_served", "self_service", "complaint_filed", "callback_booked"})


def ivr_containment(records) -> float | None:
    """The share of inbound calls the IVR settled without an agent. Calls the hotline placed
    (surveys, callbacks, notices) are no callers the IVR could have kept from an agent."""
    inbound = [r for r in records if r.direction == "inbound"]
    return round(sum(r.outcome in CONTAINED_OUTCOMES for r in inbound) / len(inbound), 3) if inbound else None


def settled_outcome(call: CallSession) -> str:
    """A finished call's outcome: the one its end gave, else what the caller had got when they
    hung up (their parcel's status: `self_served`; agents closed: `after_hours`)."""
    return call.outcome or call.flow_vars.get("call_outcome") or "caller_hung_up"


class CallRecord(Base):
    __tablename__ = "call_records"
    # A caller's recent calls (is this a repeat caller?) are looked up as each joins the queue.
    __table_args__ = (Index("ix_call_records_from_phone_started_at", "from_phone", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(16), default="inbound")
    from_phone: Mapped[str] = mapped_column(String(20))
    to_phone: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    carrier_status: Mapped[str] = mapped_column(String(16), default="")
    outcome: Mapped[str] = mapped_column(String(24), default="")
    last_step: Mapped[str] = mapped_column(String(64), default="")
    waybill: Mapped[str] = mapped_column(String(32), default="", index=True)  # the parcel the caller asked about
    carrier: Mapped[str] = mapped_column(String(8), default="")
    events: Mapped[list] = mapped_column(JSON, default=list)
    transcript: Mapped[list] = mapped_column(JSON, default=list)


def save_record(session: Session, call: CallSession, ended_at: datetime, carrier_status: str) -> CallRecord:
    """Upsert the record of a finished call from its session (a repeated status callback is harmless;
    two writers racing to insert it end in one record)."""
    try:
        return _upsert(session, call, ended_at, carrier_status)
    except IntegrityError:
        session.rollback()  # the other writer inserted it first: update theirs
        return _upsert(session, call, ended_at, carrier_status)


def _upsert(session: Session, call: CallSession, ended_at: datetime, carrier_status: str) -> CallRecord:
    record = session.scalar(select(CallRecord).where(CallRecord.call_sid == call.sid))
    if record is None:
        record = CallRecord(call_sid=call.sid)
        session.add(record)
    record.direction = call.direction
    record.from_phone, record.to_phone = call.caller, call.called
    record.language = call.language
    record.started_at = datetime.fromisoformat(call.started_at)
    record.ended_at, record.carrier_status = ended_at, carrier_status
    record.outcome = settled_outcome(call)
    record.last_step = call.step
    variables = call.flow_vars
    record.waybill, record.carrier = variables.get("waybill", ""), variables.get("carrier", "")
    if len(call.events) >= len(record.events or []):
        # Snapshots of one call only grow: an older one (a status callback that overtook the
        # end of the call's media stream) never replaces a newer one.
        record.events, record.transcript = call.events, call.transcript
    session.commit()
    return record


def save_stream_end(session: Session, call: CallSession, now: datetime) -> CallRecord:
    """A Media Stream that closed after the carrier reported the call's end (the two race):
    the record gets what the stream did since; the carrier's end time and status stay."""
    record = session.scalar(select(CallRecord).where(CallRecord.call_sid == call.sid))
    ended_at, status = (record.ended_at, record.carrier_status) if record else (now, "completed")
    return save_record(session, call, ended_at, status)
