"""Looking parcels up, checking who is asking, and describing where a parcel is."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tracking.carriers import carriers_for_keyed, keyed_digits, normalise_waybill
from tracking.models import Parcel
from tracking.status import ExceptionReason, ParcelStatus, estimate_delivery


def normalise_phone(text: str | None) -> str:
    """China's numbers as they are dialled at home (digits only, a landline with its trunk 0),
    so caller IDs and stored numbers compare; a number abroad keeps its + and country code."""
    raw = (text or "").strip()
    digits = "".join(ch for ch in raw if ch.isdigit())
    international = digits[2:] if digits.startswith("00") else digits if raw.startswith("+") else None
    if international is not None and not international.startswith("86"):
        return "+" + international
    if international is not None:  # +86 or 0086
        national = international[2:]
        return national if len(national) == 11 and national.startswith("1") else "0" + national
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


# What is_phone_number takes, in words for error messages.
PHONE_NUMBER_RULE = "7 to 12 digits, or up to 15 after + and a country code"


def is_phone_number(number: str) -> bool:
    """Whether a normalised number (normalise_phone) can be dialled: 7 to 12 digits at home (a
    mobile's 11, a landline with its area code), up to 15 with a country code (E.164's most)."""
    digits = number.removeprefix("+")
    return digits.isdigit() and 7 <= len(digits) <= (15 if number.startswith("+") else 12)


def find_parcel(session: Session, waybill: str) -> Parcel | None:
    return session.scalar(select(Parcel).where(Parcel.waybill == normalise_waybill(waybill)))


def find_by_keyed_digits(session: Session, digits: str, caller_phone: str = "", carrier: str = "") -> list[Parcel]:
    """The parcels whose waybill a caller may have keyed (letters cannot be keyed), of one
    carrier when the caller named it.

    Two carriers may share a digit string. When the caller's phone is on exactly one of them,
    that one is theirs; otherwise all are returned and the caller is asked, never chosen for."""
    query = select(Parcel).where(Parcel.keyed_digits == keyed_digits(digits))
    candidates = list(session.scalars(query.where(Parcel.carrier == carrier) if carrier else query))
    spoken = [p for p in candidates if p.waybill == digits.upper()]  # letters said, not keyed
    if spoken:
        return spoken
    caller = normalise_phone(caller_phone)
    own = [p for p in candidates if party_for_phone(p, caller) is not None]
    return own if len(own) == 1 else sorted(candidates, key=lambda p: p.carrier)


def carrier_choices(session: Session, digits: str, caller_phone: str = "") -> list[str]:
    """The carriers a caller who keyed these digits is asked to choose from, in the order of
    CARRIERS; none when there is nothing to ask: letters were said, the digits fit one carrier's
    format only, or the caller's phone is on exactly one parcel with them (theirs, used as is).

    The choice is every carrier whose format the digits fit, whether or not such a parcel
    exists, so an unknown number is asked like a known one and the list tells a stranger nothing."""
    fitting = carriers_for_keyed(digits) if digits.isdigit() else []
    if len(fitting) < 2:
        return []
    caller = normalise_phone(caller_phone)
    own = [p for p in find_by_keyed_digits(session, digits) if party_for_phone(p, caller) is not None]
    return [] if len(own) == 1 else fitting


def parcels_by_keyed_digits(session: Session, digit_strings: set[str], chunk: int = 500) -> dict[str, list[Parcel]]:
    """Parcels whose keyed digits are among these strings (for ranking speech candidates)."""
    found: dict[str, list[Parcel]] = {}
    ordered = sorted(digit_strings)
    for start in range(0, len(ordered), chunk):
        batch = ordered[start:start + chunk]
        for parcel in session.scalars(select(Parcel).where(Parcel.keyed_digits.in_(batch))):
            found.setdefault(parcel.keyed_digits, []).append(parcel)
    return found


def party_for_phone(parcel: Parcel, phone: str) -> str | None:
    """'recipient' or 'sender' when the phone is one of the parcel's, else None."""
    phone = normalise_phone(phone)
    if not phone:
        return None
    if phone == normalise_phone(parcel.recipient_phone):
        return "recipient"
    if phone == normalise_phone(parcel.sender_phone):
        return "sender"
    return None


def party_for_phone_tail(parcel: Parcel, tail: str) -> str | None:
    """The party whose phone ends in these four digits, for callers calling from elsewhere."""
    if len(tail) != 4 or not tail.isdigit():
        return None
    for party, phone in (("recipient", parcel.recipient_phone), ("sender", parcel.sender_phone)):
        if phone and normalise_phone(phone).endswith(tail):
            return party
    return None


def party_name(parcel: Parcel, party: str) -> str:
    return parcel.recipient_name if party == "recipient" else parcel.sender_name


@dataclass(frozen=True)
class ParcelReport:
    """What a caller is told about a parcel: facts only; words come from the prompts."""

    waybill: str
    carrier: str
    status: ParcelStatus
    exception_reason: ExceptionReason | None
    last_scan_location: str
    last_scan_at: datetime | None
    expected_delivery: date | None

    def as_vars(self) -> dict[str, str]:
        return {
            "waybill": self.waybill,
            "carrier": self.carrier,
            "parcel_status": self.status.value,
            "exception_reason": self.exception_reason.value if self.exception_reason else "",
            "last_scan_location": self.last_scan_location,
            "last_scan_at": self.last_scan_at.isoformat(timespec="minutes") if self.last_scan_at else "",
            "expected_delivery": self.expected_delivery.isoformat() if self.expected_delivery else "",
        }


def describe(parcel: Parcel, today: date) -> ParcelReport:
    return ParcelReport(
        waybill=parcel.waybill,
        carrier=parcel.carrier,
        status=parcel.status,
        exception_reason=parcel.exception_reason,
        last_scan_location=parcel.last_scan_location,
        last_scan_at=parcel.last_scan_at,
        expected_delivery=estimate_delivery(
            parcel.status, parcel.exception_reason, parcel.expected_delivery, parcel.last_scan_at, today
        ),
    )
