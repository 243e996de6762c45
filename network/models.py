"""Branches, their pickup points, and tariffs, as stored in SQL."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import JSON, Integer, Numeric, String, UniqueConstraint
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
