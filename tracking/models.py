"""Parcels and their scan events, as stored in SQL."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from database import Base
from tracking.status import ExceptionReason, ParcelStatus


class Parcel(Base):
    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    waybill: Mapped[str] = mapped_column(String(32), unique=True)
    # The digits a caller can key for this waybill; keypad entry looks parcels up by it.
    keyed_digits: Mapped[str] = mapped_column(String(32), index=True)
    carrier: Mapped[str] = mapped_column(String(8))
    status: Mapped[ParcelStatus] = mapped_column(Enum(ParcelStatus, native_enum=False, length=24))
    exception_reason: Mapped[ExceptionReason | None] = mapped_column(
        Enum(ExceptionReason, native_enum=False, length=24)
    )
    origin: Mapped[str] = mapped_column(String(64), default="")
    destination: Mapped[str] = mapped_column(String(64), default="")
    sender_phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    recipient_phone: Mapped[str] = mapped_column(String(20), default="", index=True)
    sender_name: Mapped[str] = mapped_column(String(64), default="")
    recipient_name: Mapped[str] = mapped_column(String(64), default="")
    expected_delivery: Mapped[date | None] = mapped_column(Date)
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_scan_location: Mapped[str] = mapped_column(String(64), default="")

    scans: Mapped[list[ScanEvent]] = relationship(
        back_populates="parcel", cascade="all, delete-orphan", order_by="ScanEvent.at"
    )


class ScanEvent(Base):
    __tablename__ = "scan_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcels.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    location: Mapped[str] = mapped_column(String(64))
    status: Mapped[ParcelStatus] = mapped_column(Enum(ParcelStatus, native_enum=False, length=24))
    description: Mapped[str] = mapped_column(String(200), default="")

    parcel: Mapped[Parcel] = relationship(back_populates="scans")
