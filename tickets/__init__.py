"""Complaints, tickets (工单) and SLA clocks: the tickets domain (SQL, no HTTP)."""
from tickets.categories import CATEGORY_NAMES_ZH, ComplaintCategory, Demand
from tickets.models import Ticket, TicketEvent, TicketStatus
from tickets.service import SlaPolicy, file_complaint, open_ticket_for

__all__ = [
    "CATEGORY_NAMES_ZH", "ComplaintCategory", "Demand", "SlaPolicy", "Ticket", "TicketEvent",
    "TicketStatus", "file_complaint", "open_ticket_for",
]
