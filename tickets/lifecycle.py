"""A ticket's lifecycle, declared as data: trigger -> (states it may fire from, state it leads to).

new → assigned → first_response → waiting_branch → result_received → customer_confirmed → closed;
any open ticket may be escalated to a supervisor; a closed one may be reopened (a low
satisfaction score, a customer calling back). Invalid triggers raise.
"""
from __future__ import annotations

from tickets.models import OPEN_STATUSES
from tickets.models import TicketStatus as S

TRANSITIONS: dict[str, tuple[tuple[S, ...], S]] = {
    "assign": ((S.NEW, S.ESCALATED), S.ASSIGNED),
    "respond": ((S.ASSIGNED,), S.FIRST_RESPONSE),
    "forward_to_branch": ((S.FIRST_RESPONSE,), S.WAITING_BRANCH),
    "record_result": ((S.WAITING_BRANCH,), S.RESULT_RECEIVED),
    "confirm_with_customer": ((S.RESULT_RECEIVED,), S.CUSTOMER_CONFIRMED),
    "close": ((S.CUSTOMER_CONFIRMED,), S.CLOSED),
    "escalate": (tuple(s for s in OPEN_STATUSES if s is not S.ESCALATED), S.ESCALATED),
    "reopen": ((S.CLOSED,), S.ASSIGNED),
}


class TransitionError(ValueError):
    pass


def next_status(current: S, trigger: str) -> S:
    if trigger not in TRANSITIONS:
        raise TransitionError(f"unknown trigger {trigger!r}; known: {', '.join(TRANSITIONS)}")
    sources, target = TRANSITIONS[trigger]
    if current not in sources:
        raise TransitionError(f"cannot {trigger} a ticket that is {current.value}")
    return target
