"""RQ jobs: callbacks fire as jobs scheduled at their due time, exactly once per attempt.

SQL holds each callback and its attempts; a job carries only the callback's id. Before a
worker dials attempt N it claims "callback:{id}:attempt:{N}" in Redis (SET NX): a job
delivered twice finds the claim and does nothing. Recovery (at start-up and from the clock)
closes the gaps a killed worker or a lost Redis leaves:
  scheduled, job missing, or its job failed or started long ago (a worker killed between its
  claim and its dial)               -> scheduled again (a claim without a dial is released)
  dialling for over STALE_DIALLING  -> the worker died between dialling and saving: the
                                       carrier's call list says whether the call went out; if
                                       it did the attempt waits for its outcome (which finds it
                                       by the attempt its URLs carry), if not it is dialled
                                       afresh: each attempt reaches the customer once
  ringing for over STALE_RINGING    -> no outcome ever came: the attempt ends as "unknown" and
                                       the next is scheduled
  awaiting an agent for over STALE_AWAITING_AGENT -> out of the ACD's line, retried later
  a scheduled job overdue by SCHEDULER_STALL -> queued (RQ's scheduler died holding its lock)
Each recovery pass reads at most CALLBACK_RECOVERY_BATCH open callbacks, in id order, from a
cursor kept in Redis, so a pass costs the same at 500 callbacks as at 500,000; the next pass
goes on from there, and the one that reaches the end starts the cursor over.
A callback whose source is in CALLBACK_AGENT_FIRST does not dial at once: it joins the ACD's
line (a promised callback goes a little ahead) and the customer is dialled when an agent
accepts it, so nobody answers a callback only to wait for an agent.
Outbound calls are paced: at most OUTBOUND_MAX_CONCURRENT in progress, and
OUTBOUND_CALLS_PER_SECOND placed in any second.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from redis.exceptions import LockError
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from callqueue.lifecycle import CallbackMoved, move
from callqueue.models import Callback, CallbackAttempt, CallbackStatus, DoNotCall
from callqueue.pacing import Pacer
from clock import from_naive_utc, to_naive_utc
from keys import key_for
from masking import mask_phone
from tracking.service import normalise_phone

QUEUE_NAME = "hotline"
CLAIM_TTL_S = 7 * 24 * 3600
STALE_DIALLING = timedelta(minutes=2)
STALE_RINGING = timedelta(hours=1)  # the carrier never reported an outcome
STALE_AWAITING_AGENT = timedelta(minutes=30)  # no agent took a callback that reserves one first
RECOVERY_CURSOR_KEY = key_for("callbacks", "recovery-cursor")
# RQ's scheduler moves due jobs to the queue each second; a killed one leaves its lock for 61 s
# and a new scheduler waits for it. Jobs this overdue are moved by recovery instead.
SCHEDULER_STALL = timedelta(seconds=10)
ADMISSION_LOCK = key_for("callbacks", "admission")
ADMISSION_LOCK_TTL_S = 10  # a worker killed holding it holds up the others this long at most
ADMISSION_WAIT_S = 2
DATABASE_RETRY_S = 2  # a job that found the database out of reach runs again this much later
RETRY_OUTCOMES = {"busy", "no-answer", "failed", "canceled", "machine", "carrier_error", "unknown", "no_agent"}
log = logging.getLogger(__name__)


def get_queue(connection) -> Queue:
    return Queue(QUEUE_NAME, connection=connection)


def job_id(callback: Callback) -> str:
    return f"callback-{callback.id}-attempt-{callback.attempts + 1}"


def claim_key(callback_id: int, number: int) -> str:
    return key_for("callback", f"{callback_id}:attempt:{number}")


def current_job_key(callback_id: int) -> str:
    """Which RQ job is to fire a callback next (a paced or reopened attempt moves to a new job)."""
    return key_for("callback_job", str(callback_id))


def schedule_callback(queue: Queue, callback: Callback) -> None:
    """Fire the callback's next attempt at its due time, as that attempt's job."""
    _enqueue_dial(queue, callback.id, job_id(callback), from_naive_utc(callback.due_at))


def _fire_again(queue: Queue, callback_id: int, why: str, at: datetime) -> None:
    """The job runs again at `at`, under a new id that says why (an attempt's own id is taken)."""
    _enqueue_dial(queue, callback_id, f"callback-{callback_id}-{why}-{uuid.uuid4().hex[:8]}", at)


def _enqueue_dial(queue: Queue, callback_id: int, job: str, at: datetime) -> None:
    from flask import current_app

    queue.connection.set(current_job_key(callback_id), job, ex=CLAIM_TTL_S)
    if at <= current_app.config["CLOCK"]():  # due already: straight to the workers, not through the scheduler
        queue.enqueue(dial_callback, callback_id, job_id=job, result_ttl=86400)
    else:
        # RQ's scheduler keeps whole seconds (it drops the fraction): rounded up, never early.
        whole = at.replace(microsecond=0)
        queue.enqueue_at(whole + timedelta(seconds=1) if whole < at else whole, dial_callback, callback_id,
                         job_id=job, result_ttl=86400)


def schedule_callback_job(callback: Callback) -> None:
    """Hand a stored callback to the job scheduler; with Redis down it stays safe in SQL and the
    recovery pass schedules it when Redis is back."""
    from redis.exceptions import RedisError

    from redis_conn import get_redis

    try:
        schedule_callback(get_queue(get_redis()), callback)
    except RedisError:
        log.exception("callback %s stored but not scheduled", callback.id)


def on_do_not_call(session, phone: str) -> bool:
    return session.get(DoNotCall, normalise_phone(phone)) is not None


def dial_callback(callback_id: int) -> str:
    """Place the next attempt of a due callback (runs in the RQ worker, inside the app)."""
    from flask import current_app

    from database import new_session
    from ivr.telephony import get_telephony
    from redis_conn import get_redis

    session = new_session()
    claimed = None  # the attempt's claim, until the move that dials it is committed
    try:
        callback = session.get(Callback, callback_id)
        if callback is None or callback.status is not CallbackStatus.SCHEDULED:
            return "skipped"
        moment = current_app.config["CLOCK"]()
        hours = current_app.extensions["calling_hours"]
        if not hours.is_open(moment):
            # Fired late (a worker was down) into closed hours: wait for the next opening.
            callback.due_at = to_naive_utc(hours.next_opening(moment))
            session.commit()
            _fire_again(get_queue(get_redis()), callback.id, f"attempt-{callback.attempts + 1}-reopened",
                        from_naive_utc(callback.due_at))
            return "closed"
        # The count of calls in progress and the move that adds one happen under one short lock,
        # or two workers could both see 499 of 500 and both dial.
        admission = get_redis().lock(ADMISSION_LOCK, timeout=ADMISSION_LOCK_TTL_S,
                                     blocking_timeout=ADMISSION_WAIT_S)
        if not admission.acquire():
            return _pace_later(callback, moment)
        try:
            if _over_pace(session, get_redis(), current_app.config):
                return _pace_later(callback, moment)
            number = callback.attempts + 1
            if not get_redis().set(claim_key(callback.id, number), "claimed", nx=True, ex=CLAIM_TTL_S):
                return "duplicate"
            claimed = claim_key(callback.id, number)
            now = to_naive_utc(moment)
            if on_do_not_call(session, callback.phone):
                move(session, callback, "cancel")
                return callback.status.value
            if refused := current_app.extensions["callback_destinations"].why_not(callback.phone):
                # Booked before the rules changed, or written straight to the database: never dialled.
                log.warning("callback %s to %s cancelled: %s", callback.id, mask_phone(callback.phone), refused)
                callback.last_error = refused
                move(session, callback, "cancel")
                return callback.status.value
            if callback.expires_at and now > callback.expires_at:
                move(session, callback, "expire")
                return callback.status.value
            # Added by id, not appended to callback.history: that would load every earlier attempt.
            attempt = CallbackAttempt(callback_id=callback.id, number=number, started_at=now)
            session.add(attempt)
            if _reserves_agent_first(callback, current_app.config):
                move(session, callback, "await_agent", attempts=number)
                claimed = None
                _join_agent_line(session, callback, moment.timestamp())
                log.info("callback %s attempt %d waits for an agent", callback.id, number)
                return callback.status.value
            move(session, callback, "dial", attempts=number)
            claimed = None
        except CallbackMoved:
            return "duplicate"  # another worker took this attempt
        finally:
            try:
                admission.release()
            except LockError:  # held past its TTL (a stalled database): another worker has it now
                log.warning("callback %s: the outbound admission lock expired while held", callback.id)
        base = current_app.config["PUBLIC_BASE_URL"] or f"http://127.0.0.1:{current_app.config['PORT']}"
        try:
            # The attempt rides on both URLs, so its outcome finds it even if this worker dies
            # before the call's SID is saved.
            attempt.call_sid = get_telephony().place_call(
                to=callback.phone, url=f"{base}/voice/callback/{callback.id}?attempt={number}",
                status_callback=f"{base}/voice/status?callback={callback.id}&attempt={number}",
            )
        except Exception as error:  # the carrier refused: that attempt failed, the callback goes on
            callback.last_error = str(error)[:200]
            finish_attempt(session, callback, attempt, "carrier_error", now)
        else:
            try:
                move(session, callback, "ring")
            except CallbackMoved:  # settled meanwhile (recovery found the attempt stale)
                log.warning("callback %s attempt %d placed after it was settled", callback.id, number)
        log.info("callback %s attempt %d to %s: %s", callback.id, number, mask_phone(callback.phone),
                 callback.status.value)
        return callback.status.value
    except SQLAlchemyError as error:
        # The database is out of reach. Before the dialling move was committed nothing was
        # dialled: the claim goes and the job runs again shortly. After it, the attempt is in
        # DIALLING and recovery asks the carrier whether the call went out.
        log.warning("callback %s: the database is out of reach (%s); trying again in %d s", callback_id,
                    type(error).__name__, DATABASE_RETRY_S)
        if claimed:
            get_redis().delete(claimed)
        _fire_again(get_queue(get_redis()), callback_id, "db-retry",
                    current_app.config["CLOCK"]() + timedelta(seconds=DATABASE_RETRY_S))
        return "db_retry"
    finally:
        session.close()


def _pace_later(callback: Callback, moment: datetime) -> str:
    """Not now: try again in a second (the claim makes each attempt dial once whatever happens)."""
    from redis_conn import get_redis

    _fire_again(get_queue(get_redis()), callback.id, f"attempt-{callback.attempts + 1}-paced",
                moment + timedelta(seconds=1))
    return "paced"


def _reserves_agent_first(callback: Callback, config) -> bool:
    sources = {s.strip() for s in config["CALLBACK_AGENT_FIRST"].split(",") if s.strip()}
    return callback.kind == "agent" and callback.source in sources


def _join_agent_line(session, callback: Callback, now: float) -> None:
    """Queue the attempt in the ACD as a caller who kept their place: when an agent accepts it,
    the customer is dialled straight to that agent (console accept -> routing.connect)."""
    from flask import current_app

    from callqueue.acd import skill
    from callqueue.routing import distributor, scheduled_callback_sid
    from redis_conn import get_redis
    from tickets.models import Ticket

    ticket = session.get(Ticket, callback.ticket_id) if callback.ticket_id else None
    line = skill(current_app.config["HOTLINE_LANGUAGE"], ticket.category.value if ticket else "")
    distributor(get_redis(), current_app.config).enqueue(
        scheduled_callback_sid(callback.id, callback.attempts), line, now, phone=callback.phone,
        priority=("promised_callback",), by_callback=True)


def agent_reserved_dialled(session, acd_sid: str, dialled_sid: str | None, now: datetime) -> None:
    """An agent accepted a scheduled callback and the customer is being dialled: the attempt now
    waits for that call's outcome like any other. No SID: the carrier refused the call, so the
    attempt failed and the usual retry rules apply."""
    from callqueue.routing import scheduled_callback_attempt

    callback_id, number = scheduled_callback_attempt(acd_sid)
    callback = session.get(Callback, callback_id)
    if callback is None or callback.status is not CallbackStatus.AWAITING_AGENT or callback.attempts != number:
        return
    if dialled_sid is None:
        finish_attempt(session, callback, callback.history[-1], "failed", now)
        return
    callback.history[-1].call_sid = dialled_sid
    move(session, callback, "ring")


def _over_pace(session, connection, config) -> bool:
    """At the limit of calls in progress, or of calls placed in the last second? (Asked under
    the admission lock. The per-second slot itself is taken when the call is placed; this only
    keeps a worker from waiting for one.)"""
    in_progress = session.scalar(select(func.count(Callback.id)).where(
        Callback.status.in_([CallbackStatus.DIALLING, CallbackStatus.RINGING])))
    if in_progress >= config["OUTBOUND_MAX_CONCURRENT"]:
        return True
    return Pacer(connection, config["OUTBOUND_CALLS_PER_SECOND"], config["CLOCK"]).full()


def finish_attempt(session, callback: Callback, attempt: CallbackAttempt, outcome: str, now: datetime) -> None:
    """Record how an attempt ended; retry inside calling hours while attempts and the window last."""
    from flask import current_app

    from redis_conn import get_redis

    attempt.outcome, attempt.ended_at = outcome, now
    config = current_app.config
    due = None
    if outcome == "completed":
        trigger = "reach"
    elif callback.attempts >= config["CALLBACK_MAX_ATTEMPTS"]:
        trigger = "give_up"
    else:
        hours = current_app.extensions["calling_hours"]
        due = to_naive_utc(hours.next_opening(from_naive_utc(now) + timedelta(minutes=config["CALLBACK_RETRY_MINUTES"])))
        trigger = "expire" if callback.expires_at and due > callback.expires_at else "retry"
    try:
        move(session, callback, trigger, **({"due_at": due} if trigger == "retry" else {}))
    except CallbackMoved:
        log.warning("callback %s: attempt %d already settled", callback.id, attempt.number)
        return
    if callback.status is CallbackStatus.SCHEDULED:
        schedule_callback(get_queue(get_redis()), callback)


def attempt_of(session, call_sid: str, callback_id: int | None = None,
               number: int | None = None) -> CallbackAttempt | None:
    """The attempt a carrier's call belongs to: by its SID, or by the callback and attempt its URLs
    carry (when the worker that placed it died before saving the SID, which is then saved)."""
    attempt = session.scalar(select(CallbackAttempt).where(CallbackAttempt.call_sid == call_sid))
    if attempt is None and callback_id is not None and number is not None:
        attempt = session.scalar(select(CallbackAttempt).where(
            CallbackAttempt.callback_id == callback_id, CallbackAttempt.number == number,
            CallbackAttempt.call_sid == ""))
        if attempt is not None:
            attempt.call_sid = call_sid
            session.commit()
    return attempt


def record_outcome(session, call_sid: str, outcome: str, now: datetime, callback_id: int | None = None,
                   number: int | None = None) -> Callback | None:
    """The carrier reported how a callback's call ended (a status callback or the answer)."""
    attempt = attempt_of(session, call_sid, callback_id, number)
    if attempt is None or attempt.outcome:
        return None  # not a callback, or already settled (a repeated status callback)
    if outcome not in RETRY_OUTCOMES and outcome != "completed":
        outcome = "failed"
    finish_attempt(session, attempt.callback, attempt, outcome, now)
    return attempt.callback


def _job_lost(queue: Queue, callback: Callback, now: datetime) -> bool:
    """Will no job fire this scheduled callback? Its job is gone (Redis lost), failed, or
    finished or started long ago without dialling (its worker was killed)."""
    current = queue.connection.get(current_job_key(callback.id))
    job = queue.fetch_job(current.decode() if current else job_id(callback))
    if job is None:
        return True
    status = job.get_status(refresh=False)
    overdue = now - callback.due_at > STALE_DIALLING
    if status is JobStatus.QUEUED:  # a worker killed as it took the job leaves it out of the queue
        return overdue and queue.connection.lpos(queue.key, job.id) is None
    if status in (JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return False
    if status is JobStatus.FAILED:  # it raised before the dialling move (the callback is still scheduled)
        return True
    started_long_ago = job.started_at is None or now - job.started_at.replace(tzinfo=None) > STALE_DIALLING
    return overdue and started_long_ago


def release_stalled_jobs(queue: Queue, now: datetime) -> int:
    """Move jobs RQ's scheduler should have queued long ago (its process died holding the
    scheduler lock). Should both move one, the attempt's claim still dials it once."""
    registry = queue.scheduled_job_registry
    job_ids = registry.get_jobs_to_schedule(int((from_naive_utc(now) - SCHEDULER_STALL).timestamp()))
    for job in Job.fetch_many(job_ids, connection=queue.connection):
        if job is not None:
            registry.remove(job)
            queue.enqueue_job(job)
    return len(job_ids)


def recover_callbacks(session, queue: Queue, connection, now: datetime, batch: int = 500) -> int:
    """Close the gaps a killed worker or a lost Redis leaves (see the module's docstring), in
    the next `batch` open callbacks after the cursor."""
    from callqueue.acd import Distributor
    from callqueue.routing import scheduled_callback_sid

    repaired = release_stalled_jobs(queue, now)
    after = int(connection.get(RECOVERY_CURSOR_KEY) or 0)
    callbacks = session.scalars(select(Callback).where(Callback.id > after, Callback.status.in_([
        CallbackStatus.SCHEDULED, CallbackStatus.DIALLING, CallbackStatus.RINGING,
        CallbackStatus.AWAITING_AGENT])).order_by(Callback.id).limit(batch)).all()
    # A short batch reached the end: the next pass starts over.
    connection.set(RECOVERY_CURSOR_KEY, callbacks[-1].id if len(callbacks) == batch else 0)
    for callback in callbacks:
        if callback.status is CallbackStatus.SCHEDULED:
            if _job_lost(queue, callback, now):
                # Whoever claimed this attempt died before dialling (dialling starts only after
                # the DIALLING commit), so the claim is released and the attempt fires again.
                connection.delete(claim_key(callback.id, callback.attempts + 1))
                _fire_again(queue, callback.id, f"attempt-{callback.attempts + 1}-recovered",
                            max(from_naive_utc(callback.due_at), from_naive_utc(now)))
                repaired += 1
        elif callback.status is CallbackStatus.AWAITING_AGENT:
            # No agent took it in time: leave the line (unless being offered now) and retry later.
            attempt = callback.history[-1]
            if now - attempt.started_at > STALE_AWAITING_AGENT and Distributor(connection).withdraw(
                    scheduled_callback_sid(callback.id, attempt.number), from_naive_utc(now).timestamp()):
                finish_attempt(session, callback, attempt, "no_agent", now)
                repaired += 1
        elif callback.status is CallbackStatus.DIALLING:
            attempt = callback.history[-1] if callback.history else None
            if attempt is not None and now - attempt.started_at > STALE_DIALLING:
                _reconcile(session, connection, callback, attempt)
                repaired += 1
        else:
            attempt = callback.history[-1] if callback.history else None
            if attempt is not None and now - attempt.started_at > STALE_RINGING:
                finish_attempt(session, callback, attempt, "unknown", now)
                repaired += 1
    return repaired


def _reconcile(session, connection, callback: Callback, attempt: CallbackAttempt) -> None:
    """A worker died while dialling this attempt: ask the carrier whether the call went out. If it
    did, the attempt waits for its outcome like any other; if not, the attempt never happened
    and is dialled afresh. Either way the customer is called once."""
    from ivr.telephony import get_telephony

    placed = get_telephony().find_call(to=callback.phone, since=from_naive_utc(attempt.started_at))
    if placed is not None:
        attempt.call_sid = placed
        move(session, callback, "ring")
        log.info("callback %s attempt %d: the carrier placed it; waiting for its outcome", callback.id, attempt.number)
        return
    session.delete(attempt)
    move(session, callback, "retry", attempts=attempt.number - 1, due_at=attempt.started_at)
    connection.delete(claim_key(callback.id, attempt.number))
    _fire_again(get_queue(connection), callback.id, f"attempt-{callback.attempts + 1}-redial",
                from_naive_utc(attempt.started_at))
    log.info("callback %s attempt %d never reached the carrier: dialled again", callback.id, attempt.number)
