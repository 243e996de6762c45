"""Branches, their pickup points, and tariffs, as stored in SQL."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from database import Base


class Branch(Base):
    """A branch (网点): the area it serves by postal-code prefixes, its phone and hours, and the
    pickup points and lockers (代收点) in its area."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64))
    postcodes: Mapped[list] = mapped_column(JSON)        # prefixes, e.g. ["3100", "310012"]
    phone: Mapped[str] = mapped_column(String(20))
    hours: Mapped[str] = mapped_column(String(32))         # "08:00-20:00"
    pickup_points: Mapped[list] = mapped_column(JSON)    # [{"name", "address", "hours"}]
    pickup_capacity: Mapped[int] = mapped_column(Integer, default=20)  # pickups a courier takes per window


class Tariff(Base):
    """One weight band of a route: up to max_kg costs price, delivered in about transit_days."""

    __tablename__ = "tariffs"
    __table_args__ = (UniqueConstraint("origin", "destination", "carrier", "service", "max_kg"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    origin: Mapped[str] = mapped_column(String(16))        # province, as network.provinces names it
    destination: Mapped[str] = mapped_column(String(16))
    carrier: Mapped[str] = mapped_column(String(8))
    service: Mapped[str] = mapped_column(String(16))       # express | standard
    max_kg: Mapped[int] = mapped_column(Integer)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    transit_days: Mapped[int] = mapped_column(Integer)


class SavedAddress(Base):
    """A customer's pickup address, offered again when they book a pickup from that phone."""

    __tablename__ = "saved_addresses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    address: Mapped[str] = mapped_column(String(200))


class PickupOrder(Base):
    """A courier booked to collect a parcel (预约上门取件), for the branch serving the area."""

    __tablename__ = "pickup_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(12), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    postcode: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(200), default="")          # a saved address
    address_recording: Mapped[str] = mapped_column(String(300), default="")  # or the caller's words, to confirm
    day: Mapped[date] = mapped_column(Date, index=True)
    window: Mapped[str] = mapped_column(String(12))                         # morning | afternoon
    status: Mapped[str] = mapped_column(String(12), default="booked")       # booked | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DeliveryRequest(Base):
    """What a recipient asked of the delivery branch: a new day and window, a pickup point, a new
    address (also a ticket: the branch confirms it), or a return to the sender."""

    __tablename__ = "delivery_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    waybill: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))            # reschedule | pickup_point | address | return
    detail: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(20))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
