"""RQ jobs: callbacks fire as jobs scheduled at their due time.

SQL holds each callback; a job only carries its id, so a job delivered twice finds the
callback already dialled and does nothing, and a lost job is rescheduled from SQL.
"""
from __future__ import annotations

import logging

from rq import Queue

from callqueue.callbacks import scheduled_callbacks
from callqueue.models import Callback, CallbackStatus
from clock import from_naive_utc
from masking import mask_phone

QUEUE_NAME = "hotline"
log = logging.getLogger(__name__)


def get_queue(connection) -> Queue:
    return Queue(QUEUE_NAME, connection=connection)


def job_id(callback: Callback) -> str:
    return f"callback-{callback.id}-attempt-{callback.attempts + 1}"


def schedule_callback(queue: Queue, callback: Callback) -> None:
    queue.enqueue_at(
        from_naive_utc(callback.due_at), dial_callback, callback.id,
        job_id=job_id(callback), result_ttl=86400,
    )


def reschedule_pending(session, queue: Queue) -> int:
    """Enqueue every scheduled callback whose job is missing (Redis lost, booking during an outage)."""
    count = 0
    for callback in scheduled_callbacks(session):
        if queue.fetch_job(job_id(callback)) is None:
            schedule_callback(queue, callback)
            count += 1
    return count


def dial_callback(callback_id: int) -> str:
    """Place the outbound call for a due callback (runs in the RQ worker, inside the app)."""
    from flask import current_app

    from database import new_session
    from ivr.telephony import get_telephony

    session = new_session()
    try:
        callback = session.get(Callback, callback_id)
        if callback is None or callback.status is not CallbackStatus.SCHEDULED:
            return "skipped"
        callback.status, callback.attempts = CallbackStatus.DIALLING, callback.attempts + 1
        session.commit()
        base = current_app.config["PUBLIC_BASE_URL"] or f"http://127.0.0.1:{current_app.config['PORT']}"
        try:
            callback.outbound_call_sid = get_telephony().place_call(
                to=callback.phone, url=f"{base}/voice/callback/{callback.id}",
                status_callback=f"{base}/voice/status",
            )
            callback.status = CallbackStatus.DIALLED
        except Exception as error:  # the carrier refused: record it, never lose the callback
            callback.status, callback.last_error = CallbackStatus.FAILED, str(error)[:200]
        session.commit()
        log.info("callback %s to %s: %s", callback.id, mask_phone(callback.phone), callback.status.value)
        return callback.status.value
    finally:
        session.close()
