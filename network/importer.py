"""`import-tariffs` and `import-branches`: CSV or JSON, with the parcel import's error rules
(see importing.py). Tariffs are keyed by route, carrier, service and weight band; branches by
code: importing again updates them.

Tariff columns: origin, destination (province names, 浙江 or Zhejiang), carrier, service
(express | standard), max_kg, price (yuan), transit_days.
Branch columns: code, name, area, postcodes (prefixes separated by spaces), phone, hours
(HH:MM-HH:MM), pickup_points ("name|address|hours; ..." in CSV, a list of objects in JSON),
pickup_capacity (pickups per window, default 20).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqueue.hours import parse_span
from importing import ImportReport, RowError, bounded, import_each, read_records, require, text_of
from network.models import Branch, Tariff
from network.provinces import province_named
from network.service import SERVICES
from tracking.carriers import carrier_for_name
from tracking.service import PHONE_NUMBER_RULE, is_phone_number, normalise_phone

TARIFF_COLUMNS = ("origin", "destination", "carrier", "service", "max_kg", "price", "transit_days")
BRANCH_COLUMNS = ("code", "name", "postcodes", "phone", "hours")


def _positive_int(record: dict, key: str) -> int:
    try:
        value = int(text_of(record, key))
    except ValueError:
        raise RowError(f"{key} {text_of(record, key)!r} is not a whole number") from None
    if value < 1:
        raise RowError(f"{key} must be at least 1")
    return value


def _province(record: dict, key: str) -> str:
    province = province_named(text_of(record, key))
    if province is None:
        raise RowError(f"unknown province {text_of(record, key)!r} in {key}")
    return province


def import_tariffs(session: Session, path: Path) -> ImportReport:
    return import_tariff_records(session, read_records(path, TARIFF_COLUMNS, "tariffs"))


def import_tariff_records(session: Session, records: list[tuple[int, dict]]) -> ImportReport:
    def store(record: dict) -> bool:
        require(record, TARIFF_COLUMNS)
        carrier = carrier_for_name(text_of(record, "carrier"))
        if carrier is None:
            raise RowError(f"unknown carrier {text_of(record, 'carrier')!r}")
        service = text_of(record, "service").lower()
        if service not in SERVICES:
            raise RowError(f"service {service!r} is not one of {', '.join(SERVICES)}")
        try:
            price = Decimal(text_of(record, "price"))
        except InvalidOperation:
            raise RowError(f"price {text_of(record, 'price')!r} is not a number") from None
        if not price.is_finite() or price <= 0:
            raise RowError("price must be above 0")
        key = {"origin": _province(record, "origin"), "destination": _province(record, "destination"),
               "carrier": carrier.code, "service": service, "max_kg": _positive_int(record, "max_kg")}
        tariff = session.scalar(select(Tariff).filter_by(**key))
        created = tariff is None
        if created:
            tariff = Tariff(**key)
            session.add(tariff)
        tariff.price, tariff.transit_days = price, _positive_int(record, "transit_days")
        session.flush()
        return created

    report = import_each(records, store)
    session.commit()
    return report


def _pickup_points(raw) -> list[dict]:
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        raw = [dict(zip(("name", "address", "hours"), (p.strip() for p in item.split("|")), strict=False))
               for item in raw.split(";") if item.strip()]
    if not isinstance(raw, list) or not all(isinstance(p, dict) and p.get("name") for p in raw):
        raise RowError("pickup_points: each needs a name (name|address|hours; ...)")
    return [{"name": bounded("pickup point name", p["name"]), "address": bounded("address", p.get("address", "")),
             "hours": bounded("pickup point hours", p.get("hours", ""))} for p in raw]


def import_branches(session: Session, path: Path) -> ImportReport:
    return import_branch_records(session, read_records(path, BRANCH_COLUMNS, "branches"))


def import_branch_records(session: Session, records: list[tuple[int, dict]]) -> ImportReport:
    def store(record: dict) -> bool:
        require(record, BRANCH_COLUMNS)
        postcodes = text_of(record, "postcodes").replace(",", " ").split()
        if not all(p.isdigit() and 2 <= len(p) <= 6 for p in postcodes):
            raise RowError("postcodes are postal-code prefixes of 2 to 6 digits, separated by spaces")
        phone = normalise_phone(text_of(record, "phone"))
        if not is_phone_number(phone):
            raise RowError(f"phone {text_of(record, 'phone')!r} is not a phone number ({PHONE_NUMBER_RULE})")
        try:
            parse_span(text_of(record, "hours"), "hours")
        except ValueError as error:
            raise RowError(str(error)) from None
        fields = {"name": text_of(record, "name"), "area": text_of(record, "area"), "postcodes": postcodes,
                  "phone": phone, "hours": text_of(record, "hours"),
                  "pickup_points": _pickup_points(record.get("pickup_points"))}
        if text_of(record, "pickup_capacity"):
            fields["pickup_capacity"] = _positive_int(record, "pickup_capacity")
        branch = session.scalar(select(Branch).where(Branch.code == text_of(record, "code")))
        created = branch is None
        if created:
            branch = Branch(code=text_of(record, "code"))
            session.add(branch)
        for key, value in fields.items():
            setattr(branch, key, value)
        session.flush()
        return created

    report = import_each(records, store)
    session.commit()
    return report
