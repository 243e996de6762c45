"""Carriers, check digits, statuses, delivery estimates, identity."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from tracking import CARRIERS, carrier_choices, carrier_for_name, carriers_accepting, s10_check_digit
from tracking.models import Parcel
from tracking.service import is_phone_number, normalise_phone, party_for_phone, party_for_phone_tail
from tracking.status import ExceptionReason, ParcelStatus, estimate_delivery, parse_status

TODAY = date(2026, 11, 24)


def test_s10_check_digit_known_answer():
    # The usual S10 worked example, AA473124829GB: weights 8 6 4 2 3 5 9 7, sum 200, 11 - 200 % 11 = 9.
    assert s10_check_digit("47312482") == 9
    assert s10_check_digit("12345678") == 5  # EE123456785CN
    assert s10_check_digit("00000000") == 5  # 11 - 0 = 11 becomes 5
    assert s10_check_digit("00000001") == 4  # 11 - 7 = 4
    assert s10_check_digit("00000008") == 0  # 11 - 56 % 11 = 10 becomes 0


@pytest.mark.parametrize("waybill, code", [
    ("SF1234567890123", "SF"), ("SF123456789012", "SF"), ("75123456789012", "ZTO"),
    ("731234567890", "ZTO"), ("YT1234567890123", "YTO"), ("7712345678901", "STO"),
    ("4312345678901", "YUNDA"), ("JD0012345678901", "JD"), ("JT0001234567890", "JT"),
    ("EA473124829CN", "EMS"), ("EE123456785CN", "EMS"),
])
def test_each_carrier_accepts_its_own_format(waybill, code):
    assert [c.code for c in carriers_accepting(waybill)] == [code]


@pytest.mark.parametrize("waybill", ["EA473124828CN", "SF12345", "XX1234567890123", "JD12345678901234", ""])
def test_malformed_or_bad_check_digit_fits_no_carrier(waybill):
    assert carriers_accepting(waybill) == []


def test_all_required_carriers_exist():
    assert {"SF", "ZTO", "YTO", "STO", "YUNDA", "JD", "JT", "EMS"} <= set(CARRIERS)
    assert carrier_for_name("顺丰").code == "SF" and carrier_for_name("jt").code == "JT"
    assert carrier_for_name("无名快递") is None


def test_status_by_code_or_chinese_name():
    assert parse_status("运输中") is ParcelStatus.IN_TRANSIT
    assert parse_status("signed") is ParcelStatus.SIGNED
    with pytest.raises(ValueError):
        parse_status("flying")


@pytest.mark.parametrize("status, reason, expected, last_scan, result", [
    (ParcelStatus.IN_TRANSIT, None, date(2026, 11, 26), None, date(2026, 11, 26)),
    (ParcelStatus.IN_TRANSIT, None, None, datetime(2026, 11, 23, 8), date(2026, 11, 25)),
    (ParcelStatus.IN_TRANSIT, None, date(2026, 11, 20), datetime(2026, 11, 19, 8), TODAY),  # overdue: never a past date
    (ParcelStatus.OUT_FOR_DELIVERY, None, None, datetime(2026, 11, 24, 8), TODAY),
    (ParcelStatus.EXCEPTION, ExceptionReason.WEATHER, TODAY, None, date(2026, 11, 26)),
    (ParcelStatus.EXCEPTION, ExceptionReason.TRAFFIC_CONTROL, date(2026, 11, 22), None, date(2026, 11, 25)),
    (ParcelStatus.EXCEPTION, ExceptionReason.LOST, TODAY, None, None),
    (ParcelStatus.SIGNED, None, TODAY, None, None),
    (ParcelStatus.RETURNED, None, None, None, None),
])
def test_expected_delivery_estimate(status, reason, expected, last_scan, result):
    assert estimate_delivery(status, reason, expected, last_scan, TODAY) == result


def test_phone_normalisation_and_identity():
    parcel = Parcel(waybill="SF1234567890123", recipient_phone="13800138000", sender_phone="02088886666")
    assert normalise_phone("+86 138-0013-8000") == "13800138000"
    assert party_for_phone(parcel, "+8613800138000") == "recipient"
    assert party_for_phone(parcel, "020 8888 6666") == "sender"
    assert party_for_phone(parcel, "13900000000") is None
    assert party_for_phone(parcel, "") is None
    assert party_for_phone_tail(parcel, "8000") == "recipient"
    assert party_for_phone_tail(parcel, "6666") == "sender"
    assert party_for_phone_tail(parcel, "1234") is None
    assert party_for_phone_tail(parcel, "800") is None


@pytest.mark.parametrize("dialled, dialable", [
    ("138 0013 8000", True), ("020-8888-6666", True), ("0755 8888 6666", True), ("8888666", True),
    ("+44 20 7946 0958", True), ("+1 212 555 0100", True), ("00852 2345 6789", True),
    ("888666", False), ("0755 8888 66661", False), ("+44 20 7946 0958 12345", False), ("n/a", False), ("", False),
])
def test_a_phone_number_has_7_to_12_digits_or_up_to_15_with_a_country_code(dialled, dialable):
    assert is_phone_number(normalise_phone(dialled)) is dialable


def test_a_keyed_number_is_asked_between_the_carriers_whose_formats_it_fits(demo_parcels, session):
    stranger = "13700001111"
    assert carrier_choices(session, "1234567890123", stranger) == ["SF", "YTO", "JD", "JT"]
    assert carrier_choices(session, "7712345678901", stranger) == ["SF", "YTO", "STO", "JD", "JT"]
    assert carrier_choices(session, "1111222233334", stranger) == ["SF", "YTO", "JD", "JT"]  # no such parcel: the same
    assert carrier_choices(session, "75123456789012", stranger) == []    # only ZTO's format
    assert carrier_choices(session, "SF1234567890123", stranger) == []   # the letters were said
    # The caller's phone on exactly one parcel with these digits: that one is theirs.
    assert carrier_choices(session, "9876543210987", "13912345678") == []
