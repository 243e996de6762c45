"""Which announcements a caller hears."""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notices.models import Announcement
from tracking.carriers import carrier_for_name
from tracking.models import Parcel


def add_announcement(session: Session, *, text: str, starts_on: date, ends_on: date, now: datetime,
                     carrier: str = "", region: str = "", route: str = "", created_by: str = "") -> Announcement:
    if not text.strip():
        raise ValueError("an announcement needs text")
    if ends_on < starts_on:
        raise ValueError("an announcement cannot end before it starts")
    if carrier:
        known = carrier_for_name(carrier)
        if known is None:
            raise ValueError(f"unknown carrier {carrier!r}")
        carrier = known.code
    if route and len(route.split("-")) != 2:
        raise ValueError("a route is origin-destination, e.g. 义乌-西安")
    announcement = Announcement(text=text.strip(), starts_on=starts_on, ends_on=ends_on, carrier=carrier,
                                region=region.strip(), route=route.strip(), created_by=created_by, created_at=now)
    session.add(announcement)
    session.commit()
    return announcement


# An announcement has one text, in one language: it is played to the callers of that language
# only, told by its script (an English caller is never read a Chinese notice, nor the reverse).
SCRIPTS = {"zh": re.compile(r"[\u4e00-\u9fff]"), "ko": re.compile(r"[\uac00-\ud7af]")}


def written_for(text: str, language: str) -> bool:
    """Whether a caller of `language` (zh-CN, en-US, ko-KR) can be read this text."""
    own = SCRIPTS.get(language.split("-")[0].lower())
    if own is not None:
        return bool(own.search(text))
    return not any(script.search(text) for script in SCRIPTS.values())


def current(session: Session, today: date) -> list[Announcement]:
    return list(session.scalars(select(Announcement).where(
        Announcement.starts_on <= today, Announcement.ends_on >= today).order_by(Announcement.id)))


def general(session: Session, today: date) -> list[Announcement]:
    """Played after the greeting, to everyone."""
    return [a for a in current(session, today) if not a.scoped]


def for_parcel(session: Session, parcel: Parcel, today: date) -> list[Announcement]:
    """Scoped announcements that concern this parcel (every given scope must match)."""
    def concerns(a: Announcement) -> bool:
        places = (parcel.origin, parcel.destination, parcel.last_scan_location)
        return ((not a.carrier or a.carrier == parcel.carrier)
                and (not a.region or any(a.region in place for place in places if place))
                and (not a.route or a.route == f"{parcel.origin}-{parcel.destination}"))

    return [a for a in current(session, today) if a.scoped and concerns(a)]
