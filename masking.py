"""Masks for phone and waybill numbers, so logs and screens never hold them in clear."""
from __future__ import annotations


def _mask(text: str, keep_head: int, keep_tail: int) -> str:
    if len(text) <= keep_head + keep_tail:
        return "*" * len(text)
    return text[:keep_head] + "*" * (len(text) - keep_head - keep_tail) + text[-keep_tail:]


def mask_phone(phone: str | None) -> str:
    """13812345678 -> 138****5678 (the form Chinese carriers print on waybills)."""
    digits = "".join(ch for ch in (phone or "") if ch.isdigit())
    if len(digits) == 13 and digits.startswith("86"):  # +86 country code
        digits = digits[2:]
    return _mask(digits, 3, 4)


def mask_waybill(waybill: str | None) -> str:
    """SF1234567890123 -> SF*********0123."""
    return _mask(waybill or "", 2, 4)
