"""Who may see and change what in the console and the softphone: every route asks here.

- Tickets: a supervisor reads and changes them all. An agent reads the tickets they own and
  those of their skill group (the ticket's category among their skills; 留言 messages belong to
  the general line, which every agent serves). Of these they change the ones they own and the
  ones nobody owns yet, which they may take (首接负责制: the first taker owns a ticket to the end).
- Suggestions (建议) are for supervisors only.
- Live figures (wallboard) and reports: supervisors.
- A softphone call: only the user who placed it. A call from the agents' line: only the agent it
  is connected (or offered) to talks on it, holds it or transfers it.
- Anyone signed in: their own state, the call offered to them (the ACD accepts only the agent it
  offered the call to, atomically), new tickets (a complaint taken on the phone) and callbacks.

Routes answer 404 for an object the user may not read (its existence is not confirmed) and 403
for one they may read but not change.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, true

from console.models import User
from tickets import ComplaintCategory, Ticket

SUPERVISOR = "supervisor"
SUPERVISORS_ONLY = (ComplaintCategory.SUGGESTION,)
GENERAL_LINE = (ComplaintCategory.MESSAGE,)


def is_supervisor(user: User) -> bool:
    return user.role == SUPERVISOR


def may_see_figures(user: User) -> bool:
    """The wallboard and the reports."""
    return is_supervisor(user)


def readable_tickets(user: User) -> ColumnElement[bool]:
    """The tickets this user may read, as a condition on Ticket: the one statement of that rule,
    used for the list, a single ticket and the screen pop alike."""
    if is_supervisor(user):
        return true()
    known = {c.value for c in ComplaintCategory}
    group = [*GENERAL_LINE, *(ComplaintCategory(c) for c in user.categories if c in known)]
    return and_(Ticket.category.not_in(SUPERVISORS_ONLY),
                or_(Ticket.owner == user.username, Ticket.category.in_(group)))


def may_change_ticket(user: User, ticket: Ticket) -> bool:
    """For a ticket the user may read: edit it, note on it, move it through its lifecycle."""
    return is_supervisor(user) or ticket.owner in (user.username, "")


def may_use_call(user: User, placed_by: str | None) -> bool:
    """A softphone call, by the id of the user who placed it (None: not a softphone call)."""
    return placed_by == str(user.id)


def may_handle_call(user: User, connected_agent: str | None) -> bool:
    """A call of the agents' line, by the agent the ACD connected (or offered) it to."""
    return connected_agent == user.username
