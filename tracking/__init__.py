"""Parcels, scan events, carriers and status explanations: the tracking domain (SQL, no HTTP)."""
from tracking.carriers import CARRIERS, Carrier, carrier_for_name, carriers_accepting, s10_check_digit
from tracking.importer import import_file, import_records
from tracking.models import Parcel, ScanEvent
from tracking.service import (
    ParcelReport,
    carrier_choices,
    describe,
    find_by_keyed_digits,
    find_parcel,
    normalise_phone,
    party_for_phone,
    party_for_phone_tail,
    party_name,
)
from tracking.status import ExceptionReason, ParcelStatus

__all__ = [
    "CARRIERS", "Carrier", "ExceptionReason", "Parcel",
    "ParcelReport", "ParcelStatus", "ScanEvent", "carrier_for_name", "carriers_accepting",
    "carrier_choices", "describe", "find_by_keyed_digits", "find_parcel", "import_file", "import_records",
    "normalise_phone", "party_for_phone", "party_for_phone_tail", "party_name", "s10_check_digit",
]
