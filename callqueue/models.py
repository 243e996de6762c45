"""Callbacks as stored in SQL: the source of truth; RQ jobs only fire them."""
from __future__ import annotations

from datetime import datetime
from enum import Enum as PyEnum

from sqlalchemy import DateTime, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from database import Base


class CallbackStatus(str, PyEnum):
    SCHEDULED = "scheduled"
    DIALLING = "dialling"
    DIALLED = "dialled"
    FAILED = "failed"


class Callback(Base):
    __tablename__ = "callbacks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    slot: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[CallbackStatus] = mapped_column(Enum(CallbackStatus, native_enum=False, length=16))
    requested_at: Mapped[datetime] = mapped_column(DateTime)  # UTC, what the caller asked for
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # UTC, inside calling hours
    created_at: Mapped[datetime] = mapped_column(DateTime)
    origin_call_sid: Mapped[str] = mapped_column(String(64), default="")
    outbound_call_sid: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
