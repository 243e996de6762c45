"""What every response and every state-changing browser request go through: security headers on
all responses, and the same-origin rule for the console's and the softphone's requests."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

# Pages load scripts, styles, sockets and streams from their own origin only (no inline script or
# style), and no other site may frame them (clickjacking).
CONTENT_SECURITY_POLICY = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                           "frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",             # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config["PUBLIC_BASE_URL"].startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def same_origin_required() -> None:
    """A blueprint's before_request: a request that changes something (and a websocket handshake,
    which browsers send cross-site with cookies) must come from our own pages. The browser's
    Origin (or Referer) must name this host; a client that sends neither (not a browser: the
    simulator, scripts) must send JSON, which a cross-site form cannot."""
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    if request.method in SAFE_METHODS and not websocket:
        return
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if source:
        if urlsplit(source).netloc not in _own_hosts():
            abort(403, description="cross-site request refused")
    elif not request.is_json and not websocket:
        abort(415, description="send JSON (Content-Type: application/json)")


def _own_hosts() -> set[str]:
    hosts = {request.host}
    if current_app.config["PUBLIC_BASE_URL"]:
        hosts.add(urlsplit(current_app.config["PUBLIC_BASE_URL"]).netloc)
    return hosts


def init_app(app: Flask) -> None:
    app.after_request(add_headers)
    if app.config["TRUSTED_PROXY_COUNT"]:
        # The client's address (login throttling) and scheme as the proxies in front saw them.
        count = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
