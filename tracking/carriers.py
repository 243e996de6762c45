"""Carriers and their waybill formats.

Formats follow what each carrier prints today; EMS international items use the UPU S10
standard (two letters, eight digits, a check digit, the country code).
"""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    code: str
    name_zh: str
    name_en: str
    pattern: re.Pattern
    checksum: object = None  # callable(waybill) -> bool, for formats that carry a check digit

    def accepts(self, waybill: str) -> bool:
        if not self.pattern.fullmatch(waybill):
            return False
        return self.checksum is None or self.checksum(waybill)


S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the eight-digit serial number."""
    total = sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: 0, 11: 5}.get(check, check)


def s10_valid(waybill: str) -> bool:
    return s10_check_digit(waybill[2:10]) == int(waybill[10])


CARRIERS: dict[str, Carrier] = {
    c.code: c
    for c in (
        Carrier("SF", "顺丰", "SF Express", re.compile(r"SF\d{12,13}")),
        Carrier("ZTO", "中通", "ZTO Express", re.compile(r"7[0-9]{11}|7[3-8][0-9]{12}")),
        Carrier("YTO", "圆通", "YTO Express", re.compile(r"YT\d{13}")),
        Carrier("STO", "申通", "STO Express", re.compile(r"77\d{11}")),
        Carrier("YUNDA", "韵达", "Yunda Express", re.compile(r"(?:31|43|46)\d{11}")),
        Carrier("JD", "京东", "JD Logistics", re.compile(r"JD\d{13}")),
        Carrier("JT", "极兔", "J&T Express", re.compile(r"JT\d{13}")),
        Carrier("EMS", "邮政EMS", "China Post EMS", re.compile(r"[A-Z]{2}\d{9}[A-Z]{2}"), s10_valid),
    )
}

_ALIASES = {c.name_zh: c.code for c in CARRIERS.values()} | {
    "顺丰速运": "SF", "中通快递": "ZTO", "圆通速递": "YTO", "申通快递": "STO", "韵达快递": "YUNDA",
    "京东物流": "JD", "极兔速递": "JT", "J&T": "JT", "EMS": "EMS", "邮政": "EMS",
}


def carrier_for_name(name: str) -> Carrier | None:
    """Resolve a carrier code or its Chinese name (as import files write them)."""
    key = name.strip()
    code = key.upper() if key.upper() in CARRIERS else _ALIASES.get(key)
    return CARRIERS.get(code) if code else None


def normalise_waybill(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def carriers_accepting(waybill: str) -> list[Carrier]:
    return [c for c in CARRIERS.values() if c.accepts(waybill)]


KEYED_PREFIXES = {"SF": "SF", "YTO": "YT", "JD": "JD", "JT": "JT"}  # letters a keypad cannot send
EMS_KEYED_DIGITS = 9  # EMS: two letters, nine digits, two letters


def carriers_for_keyed(digits: str) -> list[str]:
    """The carriers whose waybills could be keyed as these digits, whether or not such a parcel
    exists (so asking which one tells a caller nothing of the parcel database)."""
    fitting = []
    for carrier in CARRIERS.values():
        if carrier.code == "EMS":
            fits = len(digits) == EMS_KEYED_DIGITS
        else:
            fits = bool(carrier.pattern.fullmatch(KEYED_PREFIXES.get(carrier.code, "") + digits))
        if fits:
            fitting.append(carrier.code)
    return fitting


def keyed_digits(waybill: str) -> str:
    """What a caller keys for this waybill on a phone keypad: its digits, letters dropped."""
    return "".join(ch for ch in waybill if ch.isdigit())
