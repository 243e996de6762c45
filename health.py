"""GET /health: Redis, database, RQ worker, flows and speech models, as JSON."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from rq import Worker
from sqlalchemy import text

from database import get_session, pool_status
from redis_conn import get_redis

bp = Blueprint("health", __name__)


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


@bp.get("/health")
def health():
    report = {
        "redis": _check(lambda: {"ping": get_redis().ping()}),
        "database": _check(lambda: _database()),
        "worker": _check(lambda: {"workers": Worker.count(connection=get_redis())}),
        "flows": {"ok": current_app.extensions["flow_error"] is None,
                  "error": current_app.extensions["flow_error"]},
        "speech": current_app.extensions["speech_models"].status(),
    }
    if report["worker"]["ok"] and report["worker"]["workers"] == 0:
        report["worker"] = {"ok": False, "workers": 0, "error": "no RQ worker is running"}
    healthy = report["redis"]["ok"] and report["database"]["ok"] and report["flows"]["ok"]
    report["status"] = "ok" if healthy and report["worker"]["ok"] else ("degraded" if healthy else "down")
    return jsonify(report), 200 if healthy else 503
