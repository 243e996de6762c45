"""Demo branches and tariffs, loaded with the demo parcels."""
from __future__ import annotations

from network.importer import import_branch_records, import_tariff_records

BRANCHES = [
    {"code": "HZ-XH", "name": "杭州西湖网点", "area": "杭州市西湖区", "postcodes": "3100 310012", "phone": "057188886666",
     "hours": "08:00-20:00", "pickup_points": "文三路菜鸟驿站|文三路100号|08:00-21:00; 丰巢快递柜|翠苑一区南门|00:00-24:00"},
    {"code": "SH-PD", "name": "上海浦东营业部", "area": "上海市浦东新区", "postcodes": "2001 2012", "phone": "02166668888",
     "hours": "08:30-19:30", "pickup_points": "张江驿站|张江路500号|09:00-21:00"},
    {"code": "BJ-CY", "name": "北京朝阳网点", "area": "北京市朝阳区", "postcodes": "1000 1001", "phone": "01088889999",
     "hours": "08:00-20:00", "pickup_points": ""},
]
ROUTES = [("浙江", "上海", 1), ("上海", "浙江", 1), ("浙江", "北京", 2), ("上海", "北京", 2), ("广东", "北京", 3),
          ("浙江", "浙江", 1)]


def tariff_records() -> list[dict]:
    records = []
    for origin, destination, days in ROUTES:
        for max_kg, standard in ((1, 10), (3, 14), (5, 18), (10, 28), (20, 45)):
            records.append({"origin": origin, "destination": destination, "carrier": "SF", "service": "express",
                            "max_kg": max_kg, "price": standard + 12 + 2 * max_kg, "transit_days": max(1, days - 1)})
            records.append({"origin": origin, "destination": destination, "carrier": "ZTO", "service": "standard",
                            "max_kg": max_kg, "price": standard + days, "transit_days": days + 1})
    return records


SAVED_ADDRESSES = [("13800138000", "杭州市西湖区文三路100号3幢")]


def seed_network(session) -> None:
    from sqlalchemy import select

    from network.models import SavedAddress

    import_branch_records(session, list(enumerate(BRANCHES, start=1)))
    for phone, address in SAVED_ADDRESSES:
        if session.scalar(select(SavedAddress).where(SavedAddress.phone == phone)) is None:
            session.add(SavedAddress(phone=phone, address=address))
    session.commit()
    import_tariff_records(session, list(enumerate(tariff_records(), start=1)))
