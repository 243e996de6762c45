"""Who may read the hotline's operational figures (/metrics, the detailed /health): they name
agents' states, the queue's lines and the services behind the hotline, so not everyone who can
reach the web port may read them.

With METRICS_TOKEN set, a request must carry `Authorization: Bearer <token>`. Without it, only
loopback clients (a Prometheus or a check on the same machine) are served; behind a reverse proxy
on the same machine every request looks like one unless TRUSTED_PROXY_COUNT names the proxy.
"""
from __future__ import annotations

import hmac
from functools import wraps
from ipaddress import ip_address

from flask import Response, current_app, request


def may_monitor() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    return _is_loopback(request.remote_addr)


def _is_loopback(address: str | None) -> bool:
    try:
        parsed = ip_address(address or "")
    except ValueError:  # a unix socket's peer, or no address at all
        return False
    return (getattr(parsed, "ipv4_mapped", None) or parsed).is_loopback


def refusal() -> Response:
    if current_app.config["METRICS_TOKEN"]:
        return Response("a bearer token is required\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                        mimetype="text/plain")
    return Response("served to this machine only; set METRICS_TOKEN to read it from elsewhere\n", 403,
                    mimetype="text/plain")


def monitoring_required(view):
    @wraps(view)
    def guarded(*args, **kwargs):
        return view(*args, **kwargs) if may_monitor() else refusal()

    return guarded
