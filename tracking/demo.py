"""Demo parcels: one for each status, exception reason and carrier, dated around today.

The demo caller 13800138000 is the recipient of most of them, so a simulated call
from that number hears details at once; the others exercise the phone-tail check.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from tracking.carriers import s10_check_digit

DEMO_CALLER = "13800138000"
OTHER_PHONE = "13912345678"


def _ems(serial: str) -> str:
    return f"EA{serial}{s10_check_digit(serial)}CN"


def demo_records(now: datetime) -> list[dict]:
    """The demo parcels around `now` (local time)."""
    today, latest = now.date(), now.replace(tzinfo=None, second=0, microsecond=0) - timedelta(minutes=1)

    def at(days_ago: int, hour: int) -> str:
        # A scan is never in the future: just after midnight "today at 06:15" has not happened.
        scanned = datetime.combine(today - timedelta(days=days_ago), time(hour, 15))
        return min(scanned, latest).isoformat(sep=" ")

    def day(offset: int) -> str:
        return (today + timedelta(days=offset)).isoformat()

    rows = [
        ("SF1234567890123", "SF", "in_transit", "深圳", "北京", "", at(0, 6), "武汉转运中心", day(1)),
        ("75123456789012", "ZTO", "out_for_delivery", "杭州", "上海", "", at(0, 8), "上海浦东营业部", day(0)),
        ("YT1234567890123", "YTO", "signed", "广州", "成都", "", at(1, 16), "成都高新网点", day(-1)),
        ("7712345678901", "STO", "exception", "南京", "哈尔滨", "weather", at(1, 20), "沈阳转运中心", day(0)),
        ("4312345678901", "YUNDA", "exception", "义乌", "西安", "backlog", at(2, 9), "郑州分拨中心", day(0)),
        ("JD0012345678901", "JD", "picked_up", "北京", "天津", "", at(0, 10), "北京亦庄仓", ""),
        ("JT0001234567890", "JT", "returned", "厦门", "福州", "", at(3, 11), "福州仓山网点", ""),
        (_ems("12345678"), "EMS", "exception", "上海", "拉萨", "traffic_control", at(1, 7), "成都邮件处理中心", day(1)),
        ("SF9876543210987", "SF", "exception", "东莞", "长沙", "damaged", at(1, 14), "长沙转运中心", day(1)),
        ("78000000000001", "ZTO", "exception", "苏州", "重庆", "lost", at(4, 12), "重庆分拨中心", day(-1)),
        ("YT9876543210987", "YTO", "exception", "青岛", "昆明", "address_problem", at(0, 9), "昆明五华网点", day(0)),
    ]
    records = []
    for number, (waybill, carrier, status, origin, dest, reason, scan_at, scan_loc, expected) in enumerate(rows):
        # The last parcel belongs to someone else: callers must pass the phone-tail check.
        recipient = OTHER_PHONE if number == len(rows) - 1 else DEMO_CALLER
        records.append({
            "waybill": waybill, "carrier": carrier, "status": status, "origin": origin,
            "destination": dest, "sender_phone": "02088886666", "sender_name": "示例商城",
            "recipient_phone": recipient, "recipient_name": "张先生" if recipient == DEMO_CALLER else "李女士",
            "expected_delivery": expected, "last_scan_at": scan_at, "last_scan_location": scan_loc,
            "exception_reason": reason,
        })
    return records


def seed_demo(session, now: datetime) -> list[dict]:
    """Load (or refresh) the demo parcels around `now` (local time); returns their records."""
    from tracking.importer import import_records

    records = demo_records(now)
    import_records(session, list(enumerate(records, start=1)))
    return records
