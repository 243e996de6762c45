"""Parcel statuses, exception reasons, and the expected-delivery estimate."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import Enum


class ParcelStatus(str, Enum):
    PICKED_UP = "picked_up"            # 已揽收
    IN_TRANSIT = "in_transit"          # 运输中
    OUT_FOR_DELIVERY = "out_for_delivery"  # 派送中
    SIGNED = "signed"                  # 已签收
    EXCEPTION = "exception"            # 异常
    RETURNED = "returned"              # 退回


class ExceptionReason(str, Enum):
    WEATHER = "weather"                # 天气影响
    TRAFFIC_CONTROL = "traffic_control"  # 交通管制
    BACKLOG = "backlog"                # 爆仓
    ADDRESS_PROBLEM = "address_problem"  # 地址问题
    DAMAGED = "damaged"                # 破损
    LOST = "lost"                      # 丢失


STATUS_NAMES_ZH = {
    ParcelStatus.PICKED_UP: "已揽收",
    ParcelStatus.IN_TRANSIT: "运输中",
    ParcelStatus.OUT_FOR_DELIVERY: "派送中",
    ParcelStatus.SIGNED: "已签收",
    ParcelStatus.EXCEPTION: "异常",
    ParcelStatus.RETURNED: "退回",
}
REASON_NAMES_ZH = {
    ExceptionReason.WEATHER: "天气",
    ExceptionReason.TRAFFIC_CONTROL: "交通管制",
    ExceptionReason.BACKLOG: "爆仓",
    ExceptionReason.ADDRESS_PROBLEM: "地址问题",
    ExceptionReason.DAMAGED: "破损",
    ExceptionReason.LOST: "丢失",
}


def _by_code_or_name(names: dict, text: str, what: str):
    key = text.strip()
    for member, name in names.items():
        if key in (member.value, name):
            return member
    raise ValueError(f"unknown {what} {text!r}")


def parse_status(text: str) -> ParcelStatus:
    """A status by its code or its Chinese name; ValueError otherwise."""
    return _by_code_or_name(STATUS_NAMES_ZH, text, "status")


def parse_reason(text: str) -> ExceptionReason:
    return _by_code_or_name(REASON_NAMES_ZH, text, "exception reason")


# Days from the last scan to delivery, by where the parcel is; an exception adds its
# reason's typical delay (the seeds' agents quote "a day or two" for weather and backlog).
DAYS_TO_DELIVERY = {
    ParcelStatus.PICKED_UP: 3,
    ParcelStatus.IN_TRANSIT: 2,
    ParcelStatus.OUT_FOR_DELIVERY: 0,
}
REASON_DELAY_DAYS = {
    ExceptionReason.WEATHER: 2,
    ExceptionReason.TRAFFIC_CONTROL: 1,
    ExceptionReason.BACKLOG: 2,
    ExceptionReason.ADDRESS_PROBLEM: 1,
    ExceptionReason.DAMAGED: 3,
}


def estimate_delivery(
    status: ParcelStatus,
    reason: ExceptionReason | None,
    expected: date | None,
    last_scan_at: datetime | None,
    today: date,
) -> date | None:
    """The date to promise a caller; None when no promise can be made (signed, returned, lost)."""
    if status in (ParcelStatus.SIGNED, ParcelStatus.RETURNED) or reason is ExceptionReason.LOST:
        return None
    if status is ParcelStatus.EXCEPTION:
        base = max(expected or today, today)
        return base + timedelta(days=REASON_DELAY_DAYS.get(reason, 1))
    if expected is not None and expected >= today:
        return expected
    start = last_scan_at.date() if last_scan_at else today
    return max(start + timedelta(days=DAYS_TO_DELIVERY[status]), today)
