"""Complaints, tickets (工单) and SLA clocks: the tickets domain (SQL, no HTTP)."""
from tickets.categories import CATEGORY_NAMES_ZH, ComplaintCategory, Demand
from tickets.claims import ClaimAssessment, ClaimError, ClaimPolicy, assess_claim
from tickets.lifecycle import TRANSITIONS, TransitionError
from tickets.models import Ticket, TicketEvent, TicketStatus
from tickets.service import (
    SlaPolicy,
    apply,
    edit_ticket,
    escalate_breaches,
    file_complaint,
    file_message,
    open_ticket_for,
    record_claim,
)
from tickets.sla import breached_tickets, breaches, clocks

__all__ = [
    "CATEGORY_NAMES_ZH", "TRANSITIONS", "ClaimAssessment", "ClaimError", "ClaimPolicy", "ComplaintCategory",
    "Demand", "SlaPolicy", "Ticket", "TicketEvent", "TicketStatus", "TransitionError", "apply", "assess_claim",
    "breached_tickets", "breaches", "clocks", "edit_ticket", "escalate_breaches", "file_complaint", "file_message",
    "open_ticket_for", "record_claim",
]
