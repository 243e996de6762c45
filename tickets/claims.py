"""Claims for damaged or lost parcels, as the seeds' agents settle them.

Insured (保价) parcels are paid their declared value (or the proven loss, if lower).
Uninsured parcels are paid the proven loss up to a multiple of the freight; above that the
amount is negotiated with the customer.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tickets.categories import ComplaintCategory

CLAIMABLE = (ComplaintCategory.DAMAGED, ComplaintCategory.LOST)
CENT = Decimal("0.01")


class ClaimError(ValueError):
    pass


@dataclass(frozen=True)
class ClaimPolicy:
    uninsured_freight_multiple: Decimal = Decimal(3)


@dataclass(frozen=True)
class ClaimAssessment:
    amount: Decimal
    basis: str          # insured_value | actual_loss | freight_multiple
    negotiable: bool    # the customer's loss exceeds what the rules pay: settle by agreement


def assess_claim(
    category: ComplaintCategory, policy: ClaimPolicy, *, insured: bool, freight: Decimal,
    declared_value: Decimal | None = None, proven_loss: Decimal | None = None,
) -> ClaimAssessment:
    if category not in CLAIMABLE:
        raise ClaimError(f"a {category.value} complaint carries no claim; only damaged or lost parcels do")
    for name, value in (("freight", freight), ("declared value", declared_value), ("proven loss", proven_loss)):
        if value is not None and value < 0:
            raise ClaimError(f"{name} cannot be negative")
    if insured:
        if declared_value is None:
            raise ClaimError("an insured parcel needs its declared value")
        if proven_loss is not None and proven_loss < declared_value:
            return ClaimAssessment(_money(proven_loss), "actual_loss", False)
        return ClaimAssessment(_money(declared_value), "insured_value", False)
    cap = freight * policy.uninsured_freight_multiple
    if proven_loss is not None and proven_loss <= cap:
        return ClaimAssessment(_money(proven_loss), "actual_loss", False)
    return ClaimAssessment(_money(cap), "freight_multiple", proven_loss is None or proven_loss > cap)


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
