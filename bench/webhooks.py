"""Answer-time benchmark: N simultaneous incoming calls against the real app and, in the same
run, against a bare Flask endpoint returning fixed TwiML (the baseline).

    python -m bench.webhooks --calls 200 --json

Both are served the same way (gunicorn, gthread workers) from their own processes; each call
is one signed POST /voice/incoming, all released at once. A call is answered on the first
ring when its TwiML comes back within 4 s of arriving.

Method (printed with the figures as "method"):
N signed POST /voice/incoming released at once against the real app under gunicorn (gthread),
alternating round by round with a bare Flask endpoint returning the same TwiML under the same
gunicorn settings (the baseline); latency is the client's wall time per POST. A server's slow
start is waited out (up to 60 s, polled with short timeouts); an answer slower than 30 s, a
refused connection or a non-TwiML answer counts as an error, never ends the run. Exit status 1
when any call failed or was not answered on the first ring.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid

import requests
from flask import Flask, Response
from twilio.request_validator import RequestValidator

from bench.figures import method, percentile, print_figures
from bench.servers import TOKEN, scratch, served

FIRST_RING_S = 4.0
CALL_TIMEOUT_S = 30.0
GREETING_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="zh-CN">您好，顺达快递客服，请问有什么可以帮您？</Say>'
    '<Gather action="/voice/step" input="dtmf" method="POST" numDigits="1" timeout="6"><Say language="zh-CN">'
    '查询快件请按1，投诉请按2，预约回电请按3，人工服务请按0，重听请按星号键。</Say></Gather>'
    '<Redirect method="POST">/voice/step?event=timeout</Redirect></Response>'
)


def baseline_app() -> Flask:
    app = Flask("baseline")

    @app.post("/voice/incoming")
    def incoming():
        return Response(GREETING_TWIML, mimetype="text/xml")

    return app


errors: list[str] = []


def one_call(url: str, results: list, start: threading.Barrier) -> None:
    params = {"CallSid": "CA" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32, "From": "13800138000",
              "To": "+864008000000", "CallStatus": "ringing", "Direction": "inbound"}
    endpoint = url + "/voice/incoming"
    headers = {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(endpoint, params)}
    start.wait()
    began = time.perf_counter()
    try:
        response = requests.post(endpoint, data=params, headers=headers, timeout=CALL_TIMEOUT_S)
        ok = response.status_code == 200 and "<Response>" in response.text and "<Gather" in response.text
        if not ok:
            errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
    except requests.RequestException as error:
        ok = False
        errors.append(f"{type(error).__name__}: {error}")
    results.append((time.perf_counter() - began, ok))


def burst(url: str, calls: int) -> list[tuple[float, bool]]:
    results: list[tuple[float, bool]] = []
    start = threading.Barrier(calls)
    threads = [threading.Thread(target=one_call, args=(url, results, start)) for _ in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def measure(real_url: str, base_url: str, calls: int, rounds: int):
    """Rounds alternate between the two servers so that machine noise hits both alike."""
    real, base = [], []
    for url in (real_url, base_url):
        burst(url, min(calls, 20))  # warm up connections, imports and caches
    for _ in range(rounds):
        real += burst(real_url, calls)
        base += burst(base_url, calls)
    return real, base


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="simultaneous incoming calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    with scratch("bench-webhooks-") as place, \
            served("app:create_app()", place.environment, args.workers, args.threads,
                   f"{place.folder}/app.log") as (_, real_url), \
            served("bench.webhooks:baseline_app()", place.environment, args.workers, args.threads,
                   f"{place.folder}/baseline.log") as (_, base_url):
        measured, baseline = measure(real_url, base_url, args.calls, args.rounds)

    latencies = [t * 1000 for t, _ in measured]
    base_latencies = [t * 1000 for t, _ in baseline]
    figures = {
        "method": method(__doc__),
        "calls": len(measured),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "baseline_p50_ms": round(statistics.median(base_latencies), 1),
        "baseline_p99_ms": round(percentile(base_latencies, 0.99), 1),
        "ratio_p99": round(percentile(latencies, 0.99) / percentile(base_latencies, 0.99), 2),
        "answered_first_ring": sum(1 for t, ok in measured if ok and t <= FIRST_RING_S),
        "failed": sum(1 for _, ok in measured if not ok),
        "baseline_failed": sum(1 for _, ok in baseline if not ok),
        "slowest_ms": round(max(latencies), 1),
        "slower_than_first_ring": sum(1 for t, _ in measured if t > FIRST_RING_S),
        "errors": len(errors),
    }
    if errors:
        figures["first_error"] = errors[0]
    print_figures(figures, args.json)
    return figures


def failed(figures: dict) -> bool:
    return bool(figures["failed"] or figures["errors"] or figures["slower_than_first_ring"])


if __name__ == "__main__":
    sys.exit(1 if failed(main()) else 0)
