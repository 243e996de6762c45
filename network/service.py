"""Quoting a fee and finding the branch for an area."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from network.models import Branch, Tariff

SERVICES = ("standard", "express")


@dataclass(frozen=True)
class Quote:
    service: str
    carrier: str
    price: Decimal
    transit_days: int


def quote(session: Session, origin: str, destination: str, weight_kg: float) -> dict[str, Quote]:
    """The cheapest price per service for a parcel of this weight (rounded up to whole kg);
    empty when no tariff covers the route or the weight."""
    kilograms = max(1, math.ceil(weight_kg))
    best: dict[str, Quote] = {}
    rows = session.scalars(select(Tariff).where(Tariff.origin == origin, Tariff.destination == destination,
                                                Tariff.max_kg >= kilograms).order_by(Tariff.max_kg, Tariff.price))
    for row in rows:
        band = best.get(row.service)
        if band is None or row.price < band.price:
            best[row.service] = Quote(row.service, row.carrier, row.price, row.transit_days)
    return best


def branch_for_postcode(session: Session, postcode: str) -> Branch | None:
    """The branch whose area prefix matches the postal code longest."""
    found, longest = None, 0
    for branch in session.scalars(select(Branch)):
        for prefix in branch.postcodes:
            if postcode.startswith(prefix) and len(prefix) > longest:
                found, longest = branch, len(prefix)
    return found
