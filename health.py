"""GET /health: Redis, database, RQ workers and their scheduler, late callbacks, flows and speech
models, as JSON, to monitoring clients (monitoring.py); to anyone else (a load balancer) only
{"status": ...}, with the same code."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from callqueue.callbacks import not_yet_placed
from callqueue.jobs import QUEUE_NAME
from callqueue.worker import background_status
from clock import to_naive_utc
from database import get_session, pool_status
from monitoring import may_monitor
from redis_conn import get_redis

bp = Blueprint("health", __name__)
# A callback still unplaced this long after its due time means no worker or scheduler is firing them.
LATE_CALLBACK = timedelta(minutes=1)


def _check(probe) -> dict:
    try:
        return {"ok": True, **(probe() or {})}
    except Exception as error:  # a health check reports failures, it never raises them
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


def _database() -> dict:
    pool = pool_status(current_app.extensions["db_engine"])
    if pool["exhausted"]:  # asking for a connection now would wait: say so at once
        raise RuntimeError(f"connection pool exhausted ({pool['in_use']} of {pool['limit']} in use)")
    return {"select": get_session().execute(text("SELECT 1")).scalar(), "pool": pool}


def _late_callbacks() -> dict:
    now = to_naive_utc(current_app.config["CLOCK"]())
    late = not_yet_placed(get_session(), due_before=now - LATE_CALLBACK)
    if late:
        raise RuntimeError(f"{late} callbacks over {LATE_CALLBACK.seconds} s late")
    return {"late": 0}


@bp.get("/health")
def health():
    report = {
        "redis": _check(lambda: {"ping": get_redis().ping()}),
        "database": _check(lambda: _database()),
        "worker": _check(lambda: background_status(get_redis(), QUEUE_NAME)),
        "callbacks": _check(lambda: _late_callbacks()),
        "flows": {"ok": current_app.extensions["flow_error"] is None,
                  "error": current_app.extensions["flow_error"]},
        "speech": current_app.extensions["speech_models"].status(),
    }
    if report["worker"]["ok"] and report["worker"]["workers"] == 0:
        report["worker"].update(ok=False, error="no RQ worker is running")
    elif report["worker"]["ok"] and not report["worker"]["scheduler"]["alive"]:
        report["worker"].update(ok=False, error=report["worker"]["scheduler"]["error"])
    healthy = report["redis"]["ok"] and report["database"]["ok"] and report["flows"]["ok"]
    running = report["worker"]["ok"] and report["callbacks"]["ok"]
    report["status"] = "ok" if healthy and running else ("degraded" if healthy else "down")
    return jsonify(report if may_monitor() else {"status": report["status"]}), 200 if healthy else 503
