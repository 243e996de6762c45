"""Importing parcels from CSV or JSON files.

CSV columns are found by header name, in any order, extra ones ignored: waybill, carrier,
status, origin, destination, sender_phone, recipient_phone, recipient_name, expected_delivery,
last_scan_at, last_scan_location, exception_reason. JSON records may also carry "scans".

A malformed row is reported with its line and reason and the rest are imported; a file
that cannot be read at all raises ImportFileError before anything is written. Parcels are
keyed by waybill, so importing a file again updates them.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from tracking.carriers import carrier_for_name, keyed_digits, normalise_waybill
from tracking.models import Parcel, ScanEvent
from tracking.service import find_parcel, normalise_phone
from tracking.status import ParcelStatus, parse_reason, parse_status

REQUIRED_COLUMNS = ("waybill", "carrier", "status")


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing was imported."""


class RowError(ValueError):
    pass


@dataclass
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)


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
        value = record.get(key)
        return "" if value is None else str(value).strip()

    missing = [key for key in REQUIRED_COLUMNS if not text(key)]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")
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
            "location": str(scan["location"]),
            "status": status,
            "description": str(scan.get("description", "")),
        })
    return sorted(scans, key=lambda s: s["at"])


def read_records(path: Path) -> list[tuple[int, dict]]:
    """(line or item number, record) pairs; ImportFileError if the file is unreadable."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ImportFileError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        return _json_records(path, text)
    return _csv_records(path, text)


def _json_records(path: Path, text: str) -> list[tuple[int, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    items = data.get("parcels") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportFileError(f"{path}: expected a list of parcels or {{\"parcels\": [...]}}")
    return [(number, item if isinstance(item, dict) else {"_invalid": item})
            for number, item in enumerate(items, start=1)]


def _csv_records(path: Path, text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportFileError(f"{path}: header lacks column(s) {', '.join(missing)}")
    reader.fieldnames = header
    records = []
    for row in reader:
        if None in row:  # more cells than header names
            records.append((reader.line_num, {"_invalid": "too many cells"}))
        else:
            records.append((reader.line_num, row))
    return records


def import_records(session: Session, records: list[tuple[int, dict]]) -> ImportReport:
    report = ImportReport()
    for line, record in records:
        try:
            if "_invalid" in record:
                raise RowError(f"not a parcel record: {record['_invalid']!r}")
            fields = parse_record(record)
        except RowError as error:
            report.problems.append(RowProblem(line, str(error)))
            continue
        scans = fields.pop("scans")
        parcel = find_parcel(session, fields["waybill"])
        if parcel is None:
            parcel = Parcel(**fields)
            session.add(parcel)
            report.created += 1
        else:
            for key, value in fields.items():
                setattr(parcel, key, value)
            report.updated += 1
        _record_scans(parcel, scans)
        session.flush()
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
    return import_records(session, read_records(path))
