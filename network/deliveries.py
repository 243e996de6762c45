"""Changing a delivery: who may, which branch delivers, and what the change costs."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.models import Branch, DeliveryRequest
from network.provinces import province_of_place
from network.service import quote
from tracking.models import Parcel
from tracking.status import ParcelStatus

FINISHED = (ParcelStatus.SIGNED, ParcelStatus.RETURNED)
# The carrier's own failures: the parcel goes back at no cost to the customer.
FREE_RETURN_REASONS = ("damaged", "lost", "address_problem")


def refusal(parcel: Parcel, party: str, kind: str) -> str | None:
    """Why this caller may not change this delivery, or None. Only the recipient changes a
    delivery; the sender may also send it back. Nothing changes once signed or returned."""
    if parcel.status in FINISHED:
        return "finished"
    allowed = ("recipient", "sender") if kind == "return" else ("recipient",)
    return None if party in allowed else "not_allowed"


def delivering_branch(session: Session, parcel: Parcel) -> Branch | None:
    """The branch whose area names the parcel's destination city."""
    return next((b for b in session.scalars(select(Branch).order_by(Branch.id))
                 if parcel.destination and parcel.destination in b.area), None)


def return_fee(session: Session, parcel: Parcel):
    """The fee to send it back (a 1 kg standard parcel, destination to origin): 0 when the
    carrier caused the return, None when no tariff covers the way back."""
    if parcel.exception_reason is not None and parcel.exception_reason.value in FREE_RETURN_REASONS:
        return 0
    origin, destination = province_of_place(parcel.destination), province_of_place(parcel.origin)
    offers = quote(session, origin, destination, 1) if origin and destination else {}
    return offers["standard"].price if "standard" in offers else None


def record(session: Session, parcel: Parcel, *, kind: str, detail: str, phone: str, now: datetime,
           ticket_id: int | None = None) -> DeliveryRequest:
    branch = delivering_branch(session, parcel)
    request = DeliveryRequest(waybill=parcel.waybill, kind=kind, detail=detail[:300], phone=phone,
                              branch_id=branch.id if branch else None, ticket_id=ticket_id, created_at=now)
    session.add(request)
    session.commit()
    return request
