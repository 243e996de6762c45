"""GET /metrics for Prometheus.

Figures that live in Redis or SQL (calls by outcome, queue sizes, agents by state, callbacks
due and late, RQ workers and the scheduler alive) are read at scrape time, so every process reports the same truth. Timings
(webhook and recogniser latency) and TTS cache hits are this process's own; with several
gunicorn workers, set PROMETHEUS_MULTIPROC_DIR as prometheus-client documents.
"""
from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from monitoring import monitoring_required

bp = Blueprint("metrics", __name__)
REGISTRY = CollectorRegistry()
WEBHOOK_SECONDS = Histogram("hotline_webhook_seconds", "Time to answer a carrier webhook", ["endpoint"],
                            registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
RECOGNISER_SECONDS = Histogram("hotline_recogniser_seconds", "Decoding time of one utterance, from its last frame",
                               registry=REGISTRY, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1))
TTS_CACHE = Counter("hotline_tts_cache_total", "Prompt audio served from the cache or rendered", ["result"],
                    registry=REGISTRY)


class StoredFigures:
    """Collects, at scrape time, what Redis and SQL hold."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from callqueue.callbacks import not_yet_placed
        from callqueue.jobs import QUEUE_NAME
        from callqueue.routing import distributor
        from callqueue.worker import background_status
        from calls.records import CallRecord
        from clock import to_naive_utc
        from database import new_session, pool_status
        from redis_conn import get_redis

        pool = GaugeMetricFamily("hotline_db_pool_connections", "This process's database connections",
                                 labels=["kind"])
        status = pool_status(self.app.extensions["db_engine"])
        pool.add_metric(["in_use"], status["in_use"])
        pool.add_metric(["limit"], status["limit"])
        yield pool
        with self.app.app_context():
            session = new_session()
            try:
                calls = CounterMetricFamily("hotline_calls", "Finished calls by outcome", labels=["outcome"])
                for outcome, count in session.execute(
                        select(CallRecord.outcome, func.count(CallRecord.id)).group_by(CallRecord.outcome)):
                    calls.add_metric([outcome or "unknown"], count)
                yield calls
                now = to_naive_utc(self.app.config["CLOCK"]())
                due = GaugeMetricFamily("hotline_callbacks", "Callbacks not yet placed", labels=["timing"])
                due.add_metric(["due"], not_yet_placed(session))
                due.add_metric(["late"], not_yet_placed(session, due_before=now))
                yield due
            finally:
                session.close()
            background = background_status(get_redis(), QUEUE_NAME)
            workers = GaugeMetricFamily("hotline_rq_workers", "RQ workers by heartbeat", labels=["state"])
            workers.add_metric(["live"], background["workers"])
            workers.add_metric(["stale"], background["stale_workers"])
            yield workers
            yield GaugeMetricFamily("hotline_rq_scheduler_alive", "1 while a scheduler holds the lock and heartbeats",
                                    value=int(background["scheduler"]["alive"]))
            acd = distributor(get_redis(), self.app.config)
            agents = GaugeMetricFamily("hotline_agents", "Agents by state", labels=["state"])
            states: dict[str, int] = {}
            skills: set[str] = set()
            for agent_id in acd.agent_ids():
                agent = acd.agent(agent_id)
                states[agent["state"]] = states.get(agent["state"], 0) + 1
                skills.update(agent["skills"])
            for state, count in sorted(states.items()):
                agents.add_metric([state], count)
            yield agents
            queue = GaugeMetricFamily("hotline_queue_waiting", "Callers waiting, per line", labels=["line"])
            for line in sorted(skills):
                queue.add_metric([line], acd.waiting_count(line))
            yield queue


def init_app(app) -> None:
    stored = CollectorRegistry()  # one per app: tests build many apps in one process
    stored.register(StoredFigures(app))
    app.extensions["metrics_registry"] = stored
    app.register_blueprint(bp)

    @app.before_request
    def start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def time_webhook(response):
        if request.blueprint == "voice" and "started" in g:
            WEBHOOK_SECONDS.labels(request.url_rule.rule if request.url_rule else "unknown").observe(
                time.perf_counter() - g.started)
        return response


@bp.get("/metrics")
@monitoring_required
def scrape():
    body = generate_latest(REGISTRY) + generate_latest(current_app.extensions["metrics_registry"])
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
