"""/metrics: what Prometheus scrapes, after real calls."""
from __future__ import annotations


def test_metrics_after_calls(call, client, runner):
    runner.invoke(args=["agents", "add", "wang", "--skills", "damaged", "--password", "pw-123456"])
    call("0")                                  # waits for an agent, gives up
    call("1", "1234567890123#", "1", "1", "9")  # self-service (SF, then yes)
    body = client.get("/metrics").get_data(as_text=True)
    assert 'hotline_calls_total{outcome="abandoned"} 1.0' in body
    assert 'hotline_calls_total{outcome="self_served"} 1.0' in body
    assert 'hotline_agents{state="offline"} 1.0' in body
    assert 'hotline_queue_waiting{line="zh-CN:damaged"} 0.0' in body
    assert 'hotline_callbacks{timing="due"} 0.0' in body
    assert 'hotline_webhook_seconds_count{endpoint="/voice/incoming"}' in body
    assert "hotline_tts_cache_total" in body and "hotline_recogniser_seconds" in body



ELSEWHERE = {"REMOTE_ADDR": "203.0.113.7"}


def test_without_a_token_only_this_machine_reads_metrics_and_health_details(client, make_app):
    assert client.get("/metrics").status_code == 200                     # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base=ELSEWHERE).status_code == 403
    public = client.get("/health", environ_base=ELSEWHERE)
    assert public.status_code == 200 and public.get_json() == {"status": "degraded"}   # no RQ worker here
    assert "redis" in client.get("/health").get_json()
    proxied = make_app(TRUSTED_PROXY_COUNT=1).test_client()              # a proxy on this machine
    assert proxied.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403


def test_with_a_token_metrics_and_health_details_need_it(make_app):
    client = make_app(METRICS_TOKEN="scrape-token-123").test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    bearer = {"Authorization": "Bearer scrape-token-123"}
    scraped = client.get("/metrics", environ_base=ELSEWHERE, headers=bearer)
    assert scraped.status_code == 200 and "hotline_agents" in scraped.get_data(as_text=True)
    assert client.get("/health").get_json() == {"status": "degraded"}
    assert "redis" in client.get("/health", environ_base=ELSEWHERE, headers=bearer).get_json()
