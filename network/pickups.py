"""Booking a courier to collect a parcel: slots from the branch's real capacity."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.models import Branch, PickupOrder, SavedAddress

WINDOWS = {"morning": (time(9), time(12)), "afternoon": (time(13), time(18))}
SLOTS = {"today_afternoon": (0, "afternoon"), "tomorrow_morning": (1, "morning"), "tomorrow_afternoon": (1, "afternoon")}


class SlotUnavailable(ValueError):
    def __init__(self, why: str):  # "full" or "past"
        super().__init__(why)
        self.why = why


def window_hours(window: str) -> str:
    """A window's hours as "09:00-12:00", for the caller to hear (flows' `:span`)."""
    start, end = WINDOWS[window]
    return f"{start:%H:%M}-{end:%H:%M}"


def saved_address(session: Session, phone: str) -> str | None:
    return session.scalar(select(SavedAddress.address).where(SavedAddress.phone == phone)
                          .order_by(SavedAddress.id.desc()).limit(1))


def slot_day(slot: str, local_now: datetime) -> tuple[date, str]:
    """'tomorrow_morning' -> (the date, 'morning'); SlotUnavailable('past') once the window has begun."""
    offset, window = SLOTS[slot]
    day = local_now.date() + timedelta(days=offset)
    if day == local_now.date() and local_now.time() >= WINDOWS[window][0]:
        raise SlotUnavailable("past")
    return day, window


def still_open(slot: str, local_now: datetime) -> bool:
    """Whether a slot can still be booked (its window has not begun)."""
    try:
        slot_day(slot, local_now)
    except SlotUnavailable:
        return False
    return True


def _taken(session: Session, branch_id: int, day: date, window: str, besides: int | None = None) -> int:
    query = select(func.count(PickupOrder.id)).where(
        PickupOrder.branch_id == branch_id, PickupOrder.day == day, PickupOrder.window == window,
        PickupOrder.status == "booked")
    if besides is not None:
        query = query.where(PickupOrder.id != besides)
    return session.scalar(query)


def book(session: Session, *, branch: Branch, phone: str, postcode: str, slot: str, local_now: datetime,
         now: datetime, address: str = "", address_recording: str = "") -> PickupOrder:
    day, window = slot_day(slot, local_now)
    if _taken(session, branch.id, day, window) >= branch.pickup_capacity:
        raise SlotUnavailable("full")
    order = PickupOrder(number="", phone=phone, branch_id=branch.id, postcode=postcode, address=address,
                        address_recording=address_recording[:300], day=day, window=window, created_at=now)
    session.add(order)
    session.flush()
    order.number = f"{local_now:%m%d}{order.id:04d}"  # eight digits a caller can key back; the local date
    session.commit()
    return order


def find_order(session: Session, number: str, phone: str) -> PickupOrder | None:
    """A booked order by its number, only for the phone that booked it."""
    order = session.scalar(select(PickupOrder).where(PickupOrder.number == number, PickupOrder.status == "booked"))
    return order if order is not None and order.phone == phone else None


def move(session: Session, order: PickupOrder, slot: str, local_now: datetime) -> PickupOrder:
    day, window = slot_day(slot, local_now)
    branch = session.get(Branch, order.branch_id)
    if _taken(session, branch.id, day, window, besides=order.id) >= branch.pickup_capacity:
        raise SlotUnavailable("full")
    order.day, order.window = day, window
    session.commit()
    return order


def cancel(session: Session, order: PickupOrder) -> None:
    order.status = "cancelled"
    session.commit()
