"""Announcements as stored in SQL."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from database import Base


class Announcement(Base):
    """Played from starts_on to ends_on (local dates). Without a scope, to every caller after the
    greeting; with one, only to a tracking caller whose parcel is in scope."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    carrier: Mapped[str] = mapped_column(String(8), default="")    # a carrier code, e.g. SF
    region: Mapped[str] = mapped_column(String(32), default="")    # a place the parcel leaves, reaches or is at
    route: Mapped[str] = mapped_column(String(64), default="")     # "origin-destination", e.g. 义乌-西安
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)

    @property
    def scoped(self) -> bool:
        return bool(self.carrier or self.region or self.route)
