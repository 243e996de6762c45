"""/metrics: what Prometheus scrapes, after real calls."""
from __future__ import annotations


def test_metrics_after_calls(call, client, runner):
    runner.invoke(args=["agents", "add", "wang", "--skills", "damaged", "--password", "pw-123456"])
    call("0")                                  # waits for an agent, gives up
    call("1", "1234567890123#", "1", "9")       # self-service
    body = client.get("/metrics").get_data(as_text=True)
    assert 'hotline_calls_total{outcome="abandoned"} 1.0' in body
    assert 'hotline_calls_total{outcome="caller_hung_up"} 1.0' in body
    assert 'hotline_agents{state="offline"} 1.0' in body
    assert 'hotline_queue_waiting{line="zh-CN:damaged"} 0.0' in body
    assert 'hotline_callbacks{timing="due"} 0.0' in body
    assert 'hotline_webhook_seconds_count{endpoint="/voice/incoming"}' in body
    assert "hotline_tts_cache_total" in body and "hotline_recogniser_seconds" in body


def test_logs_mask_numbers_the_code_forgot():
    import json
    import logging

    from logs import JsonFormatter, MaskingFilter, mask_text

    assert mask_text("call from +8613812345678 about SF1234567890123 and EE123456785CN") == \
        "call from 138****5678 about SF*********0123 and EE*******85CN"
    assert mask_text("ticket 2611240001, 3 parcels") == "ticket 2611240001, 3 parcels"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "caller %s", ("13900001111",), None)
    MaskingFilter().filter(record)
    assert json.loads(JsonFormatter().format(record))["message"] == "caller 139****1111"
