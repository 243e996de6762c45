"""Tickets: lifecycle as data, SLA clocks and breaches, escalation, claims, repeat complaints."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tickets import (
    TRANSITIONS,
    ClaimError,
    ClaimPolicy,
    ComplaintCategory,
    Demand,
    SlaPolicy,
    TicketStatus,
    TransitionError,
    apply,
    assess_claim,
    breached_tickets,
    breaches,
    escalate_breaches,
    file_complaint,
    record_claim,
)

T0 = datetime(2026, 11, 24, 2, 0)
SLA = SlaPolicy(first_response=timedelta(hours=1), closure=timedelta(hours=24))


def complaint(session, waybill="SF1234567890123", category=ComplaintCategory.DAMAGED, now=T0):
    ticket, _ = file_complaint(session, category=category, name="张先生", waybill=waybill,
                               demand=Demand.COMPENSATION, phone="13800138000", channel="hotline", now=now, sla=SLA)
    return ticket


def test_full_lifecycle_with_owner_and_history(session):
    ticket = complaint(session)
    for trigger, actor in [("assign", "agent-7"), ("respond", "agent-7"), ("forward_to_branch", "agent-7"),
                           ("record_result", "agent-7"), ("confirm_with_customer", "agent-7"), ("close", "agent-7")]:
        apply(session, ticket, trigger, now=T0 + timedelta(minutes=10), actor=actor)
    assert ticket.status is TicketStatus.CLOSED and ticket.owner == "agent-7"
    assert [e.action for e in ticket.history] == ["opened", "assign", "respond", "forward_to_branch",
                                                  "record_result", "confirm_with_customer", "close"]
    assert breaches(ticket, T0 + timedelta(days=3)) == []


def test_the_first_taker_keeps_the_ticket(session):
    ticket = complaint(session)
    apply(session, ticket, "assign", now=T0, actor="agent-1")
    apply(session, ticket, "escalate", now=T0, actor="agent-1")
    apply(session, ticket, "assign", now=T0, actor="supervisor-2")
    assert ticket.owner == "agent-1"


@pytest.mark.parametrize("status, trigger", [("new", "close"), ("new", "respond"), ("closed", "escalate"),
                                              ("assigned", "reopen")])
def test_invalid_triggers_raise(session, status, trigger):
    ticket = complaint(session)
    ticket.status = TicketStatus(status)
    with pytest.raises(TransitionError):
        apply(session, ticket, trigger, now=T0, actor="x")
    with pytest.raises(TransitionError, match="unknown trigger"):
        apply(session, ticket, "teleport", now=T0, actor="x")


def test_every_state_but_closed_can_escalate():
    sources, target = TRANSITIONS["escalate"]
    assert target is TicketStatus.ESCALATED
    assert set(sources) == set(TicketStatus) - {TicketStatus.CLOSED, TicketStatus.ESCALATED}


def test_sla_breaches_and_escalation(session):
    late = complaint(session, now=T0)
    on_time = complaint(session, waybill="7712345678901", now=T0)
    apply(session, on_time, "assign", now=T0, actor="a")
    apply(session, on_time, "respond", now=T0 + timedelta(minutes=30), actor="a")
    at_2h = T0 + timedelta(hours=2)
    assert breaches(late, at_2h) == ["first_response"] and breaches(on_time, at_2h) == []
    assert [t.id for t in breached_tickets(session, at_2h)] == [late.id]
    assert [t.id for t in escalate_breaches(session, at_2h)] == [late.id]
    assert late.status is TicketStatus.ESCALATED and late.escalated_at == at_2h
    assert escalate_breaches(session, at_2h) == []               # not twice
    at_25h = T0 + timedelta(hours=25)
    assert breaches(on_time, at_25h) == ["closure"]
    assert [t.id for t in escalate_breaches(session, at_25h)] == [on_time.id]


def test_a_late_first_response_stays_a_breach(session):
    ticket = complaint(session)
    apply(session, ticket, "assign", now=T0, actor="a")
    apply(session, ticket, "respond", now=T0 + timedelta(hours=3), actor="a")
    assert breaches(ticket, T0 + timedelta(hours=4)) == ["first_response"]


def test_repeat_complaint_links_while_open_and_opens_anew_once_closed(session):
    first = complaint(session)
    again, created = file_complaint(session, category=ComplaintCategory.DELAYED, name="张先生",
                                    waybill=first.waybill, demand=Demand.EXPLANATION, phone="13800138000",
                                    channel="hotline", now=T0, sla=SLA)
    assert (again.id, created) == (first.id, False)
    first.status = TicketStatus.CLOSED
    session.commit()
    assert complaint(session).id != first.id


@pytest.mark.parametrize("insured, declared, freight, loss, expected", [
    (True, "500", "12", None, ("500.00", "insured_value", False)),
    (True, "500", "12", "320.5", ("320.50", "actual_loss", False)),
    (False, None, "12", "30", ("30.00", "actual_loss", False)),
    (False, None, "12", "80", ("36.00", "freight_multiple", True)),
    (False, None, "12", None, ("36.00", "freight_multiple", True)),
])
def test_claim_rules(insured, declared, freight, loss, expected):
    result = assess_claim(ComplaintCategory.LOST, ClaimPolicy(), insured=insured, freight=Decimal(freight),
                          declared_value=Decimal(declared) if declared else None,
                          proven_loss=Decimal(loss) if loss else None)
    assert (str(result.amount), result.basis, result.negotiable) == expected


def test_claims_only_for_damaged_or_lost_and_sane_amounts():
    with pytest.raises(ClaimError, match="carries no claim"):
        assess_claim(ComplaintCategory.COURIER_ATTITUDE, ClaimPolicy(), insured=False, freight=Decimal(10))
    with pytest.raises(ClaimError, match="declared value"):
        assess_claim(ComplaintCategory.DAMAGED, ClaimPolicy(), insured=True, freight=Decimal(10))
    with pytest.raises(ClaimError, match="negative"):
        assess_claim(ComplaintCategory.DAMAGED, ClaimPolicy(), insured=False, freight=Decimal(-1))
    five_times = ClaimPolicy(uninsured_freight_multiple=Decimal(5))
    assert assess_claim(ComplaintCategory.DAMAGED, five_times, insured=False, freight=Decimal(10)).amount == 50


def test_claim_is_recorded_on_the_ticket(session):
    ticket = complaint(session)
    assessment = assess_claim(ticket.category, ClaimPolicy(), insured=False, freight=Decimal(12),
                              proven_loss=Decimal(100))
    record_claim(session, ticket, assessment, now=T0, actor="agent-7")
    assert ticket.claim_amount == Decimal("36.00") and ticket.claim_basis == "freight_multiple"
    assert ticket.history[-1].detail == "agent-7: 36.00 (freight_multiple, negotiable)"


def test_ticket_numbers_carry_the_hotlines_local_date(session):
    from zoneinfo import ZoneInfo

    just_after_midnight = datetime(2026, 11, 24, 16, 30)  # naive UTC: 00:30 on the 25th in Shanghai
    shanghai = SlaPolicy(zone=ZoneInfo("Asia/Shanghai"))
    ticket, _ = file_complaint(session, category=ComplaintCategory.DAMAGED, name="张先生", waybill="SF1234567890123",
                               demand=Demand.COMPENSATION, phone="13800138000", channel="hotline",
                               now=just_after_midnight, sla=shanghai)
    assert ticket.number == f"261125{ticket.id:04d}"
