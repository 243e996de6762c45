"""The ACD's clock: every second, offers unanswered too long move on (RONA) and wrap-ups end;
every SWEEP_EVERY seconds, call ends that could not be written are written and calls whose end
the carrier never reported are ended (calls.service);
every minute, tickets that missed an SLA are escalated, callbacks recovered, and (when
NOTICE_RULE_MIN_PARCELS is set) batches of parcels held by one cause get notice calls.
`python app.py` runs it as a thread; in production run `python -m callqueue.ticker` once."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)
SLA_CHECK_EVERY = 60
SWEEP_EVERY = 5


def tick_once(app, beat: int) -> None:
    from callqueue.jobs import get_queue, recover_callbacks
    from callqueue.routing import distributor
    from clock import to_naive_utc
    from database import new_session
    from redis_conn import get_redis
    from tickets import escalate_breaches

    with app.app_context():
        now = app.config["CLOCK"]()
        acd = distributor(get_redis(), app.config)
        acd.tick(now.timestamp())
        if beat % SWEEP_EVERY == 0:
            from calls import get_calls  # the floor above: the clock drives every floor

            get_calls().replay_ended()
            swept = get_calls().sweep()
            if swept:
                log.info("swept %d calls whose end was never reported", swept)
        if beat % SLA_CHECK_EVERY == 0:
            session = new_session()
            try:
                for ticket in escalate_breaches(session, to_naive_utc(now)):
                    log.info("ticket %s escalated: SLA breached", ticket.number)
                recover_callbacks(session, get_queue(get_redis()), get_redis(), to_naive_utc(now),
                                  batch=app.config["CALLBACK_RECOVERY_BATCH"])
                if app.config["NOTICE_RULE_MIN_PARCELS"]:
                    notify_batches(app, session, now)
            finally:
                session.close()


def notify_batches(app, session, now) -> None:
    from datetime import timedelta

    from callqueue.jobs import schedule_callback_job
    from notices.campaign import apply_rule

    booked = apply_rule(session, app.config["NOTICE_RULE_MIN_PARCELS"], now=now,
                        hours=app.extensions["calling_hours"], schedule=schedule_callback_job,
                        window=timedelta(days=app.config["CALLBACK_WINDOW_DAYS"]),
                        destinations=app.extensions["callback_destinations"])
    if booked:
        log.info("notice rule: %d notice calls booked", len(booked))


def run(app, stop: threading.Event, interval: float = 1.0) -> None:
    beat = 0
    while not stop.wait(interval):
        try:
            tick_once(app, beat)
        except Exception:  # a tick that fails (Redis restarting) must not stop the clock
            log.exception("ACD tick failed")
        beat += 1


if __name__ == "__main__":
    import logs
    from app import create_app

    ticking_app = create_app({"LOAD_SPEECH_MODELS": False})
    logs.configure(ticking_app.config["LOG_JSON"])
    run(ticking_app, threading.Event())
