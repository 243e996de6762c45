"""Importing parcels from CSV or JSON files.

CSV columns are found by header name, in any order, extra ones ignored: waybill, carrier,
status, origin, destination, sender_phone, recipient_phone, recipient_name, expected_delivery,
last_scan_at, last_scan_location, exception_reason. JSON records may also carry "scans".

A malformed row is reported with its line and reason and the rest are imported; a file
that cannot be read at all raises ImportFileError before anything is written. Parcels are
keyed by waybill, so importing a file again updates them.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from importing import ImportReport, RowError, bounded, import_each, read_records, require, text_of
from tracking.carriers import carrier_for_name, keyed_digits, normalise_waybill
from tracking.models import Parcel, ScanEvent
from tracking.service import find_parcel, normalise_phone
from tracking.status import ParcelStatus, parse_reason, parse_status

REQUIRED_COLUMNS = ("waybill", "carrier", "status")


def _date(key: str, raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RowError(f"{key} {raw!r} is not a date (YYYY-MM-DD)") from None


def _datetime(key: str, raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=None)
    except ValueError:
        raise RowError(f"{key} {raw!r} is not a date and time (YYYY-MM-DD HH:MM)") from None


def parse_record(record: dict) -> dict:
    """Validate one parcel record; return the Parcel fields, or raise RowError."""
    def text(key: str) -> str:
        return text_of(record, key)

    require(record, REQUIRED_COLUMNS)
    carrier = carrier_for_name(text("carrier"))
    if carrier is None:
        raise RowError(f"unknown carrier {text('carrier')!r}")
    waybill = normalise_waybill(text("waybill"))
    if not carrier.accepts(waybill):
        raise RowError(f"waybill {text('waybill')!r} does not fit the {carrier.code} format")
    try:
        status = parse_status(text("status"))
        reason = parse_reason(text("exception_reason")) if text("exception_reason") else None
    except ValueError as error:
        raise RowError(str(error)) from None
    if status is ParcelStatus.EXCEPTION and reason is None:
        raise RowError("status exception needs an exception_reason")
    return {
        "waybill": waybill,
        "keyed_digits": keyed_digits(waybill),
        "carrier": carrier.code,
        "status": status,
        "exception_reason": reason if status is ParcelStatus.EXCEPTION else None,
        "origin": text("origin"),
        "destination": text("destination"),
        "sender_phone": normalise_phone(text("sender_phone")),
        "recipient_phone": normalise_phone(text("recipient_phone")),
        "sender_name": text("sender_name"),
        "recipient_name": text("recipient_name"),
        "expected_delivery": _date("expected_delivery", text("expected_delivery")),
        "last_scan_at": _datetime("last_scan_at", text("last_scan_at")),
        "last_scan_location": text("last_scan_location"),
        "scans": _scans(record.get("scans")),
    }


def _scans(raw) -> list[dict] | None:
    if raw in (None, ""):
        return None
    if not isinstance(raw, list):
        raise RowError("scans must be a list")
    scans = []
    for number, scan in enumerate(raw, start=1):
        if not isinstance(scan, dict) or not scan.get("at") or not scan.get("location"):
            raise RowError(f"scan {number} needs 'at' and 'location'")
        try:
            status = parse_status(str(scan.get("status", "in_transit")))
        except ValueError as error:
            raise RowError(f"scan {number}: {error}") from None
        scans.append({
            "at": _datetime(f"scan {number} at", str(scan["at"]).strip()),
            "location": bounded(f"scan {number} location", scan["location"]),
            "status": status,
            "description": bounded("description", scan.get("description", "")),
        })
    return sorted(scans, key=lambda s: s["at"])


def import_records(session: Session, records: list[tuple[int, dict]]) -> ImportReport:
    def store(record: dict) -> bool:
        fields = parse_record(record)
        scans = fields.pop("scans")
        parcel = find_parcel(session, fields["waybill"])
        created = parcel is None
        if created:
            parcel = Parcel(**fields)
            session.add(parcel)
        else:
            for key, value in fields.items():
                setattr(parcel, key, value)
        _record_scans(parcel, scans)
        session.flush()
        return created

    report = import_each(records, store)
    session.commit()
    return report


def _record_scans(parcel: Parcel, scans: list[dict] | None) -> None:
    if scans is not None:
        parcel.scans = [ScanEvent(**scan) for scan in scans]
        last = scans[-1] if scans else None
        if last and not parcel.last_scan_at:
            parcel.last_scan_at, parcel.last_scan_location = last["at"], last["location"]
        return
    # A CSV row carries only the latest scan: add it unless it is already known.
    if parcel.last_scan_at and not any(s.at == parcel.last_scan_at for s in parcel.scans):
        parcel.scans.append(ScanEvent(
            at=parcel.last_scan_at, location=parcel.last_scan_location, status=parcel.status,
        ))


def import_file(session: Session, path: Path) -> ImportReport:
    return import_records(session, read_records(path, REQUIRED_COLUMNS, "parcels"))
