"""A callback's statuses, declared as data: trigger -> (statuses it may fire from, status it leads to).

scheduled → dialling → ringing → completed; scheduled → awaiting_agent (an agent is reserved
first) → ringing; an attempt that did not reach the customer goes back to scheduled, or to
failed / expired when attempts or the follow-up window run out; do-not-call cancels. Each move
is one conditional UPDATE (… WHERE status IN sources): two workers can never both move a
callback out of a status, so no attempt is dialled twice.
"""
from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from callqueue.models import Callback
from callqueue.models import CallbackStatus as S

IN_ATTEMPT = (S.DIALLING, S.AWAITING_AGENT, S.RINGING)

TRANSITIONS: dict[str, tuple[tuple[S, ...], S]] = {
    "dial": ((S.SCHEDULED,), S.DIALLING),
    "await_agent": ((S.SCHEDULED,), S.AWAITING_AGENT),
    "ring": ((S.DIALLING, S.AWAITING_AGENT), S.RINGING),
    "reach": (IN_ATTEMPT, S.COMPLETED),
    "retry": (IN_ATTEMPT, S.SCHEDULED),
    "give_up": (IN_ATTEMPT, S.FAILED),
    "expire": ((S.SCHEDULED, *IN_ATTEMPT), S.EXPIRED),
    "cancel": ((S.SCHEDULED, *IN_ATTEMPT), S.CANCELLED),
}


class CallbackMoved(RuntimeError):
    """The callback was not in a status the trigger fires from (another process moved it)."""


def move(session: Session, callback: Callback, trigger: str, **fields) -> None:
    """Fire `trigger` on the callback, with any other columns to set, atomically; commits."""
    sources, target = TRANSITIONS[trigger]
    session.flush()
    moved = session.execute(
        update(Callback).where(Callback.id == callback.id, Callback.status.in_(sources))
        .values(status=target, **fields).execution_options(synchronize_session="fetch"))
    if moved.rowcount != 1:
        session.rollback()
        raise CallbackMoved(f"cannot {trigger} callback {callback.id}: it is no longer {'/'.join(s.value for s in sources)}")
    session.commit()
