"""App factory, configuration, health, masking, and a real server called by the simulator CLI."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from datetime import datetime

import pytest
from werkzeug.serving import make_server

from config import ConfigError, load_config
from masking import mask_phone, mask_waybill
from tests.conftest import AUTH_TOKEN


def test_config_defaults_and_explicit_parsing():
    config = load_config({})
    assert config["HOTLINE_LANGUAGE"] == "zh-CN" and config["PORT"] == 5000
    assert config["SEED_DEMO_ON_FIRST_RUN"] is True
    assert load_config({"SEED_DEMO_ON_FIRST_RUN": "false"})["SEED_DEMO_ON_FIRST_RUN"] is False
    assert load_config({"PUBLIC_BASE_URL": "https://x.example/"})["PUBLIC_BASE_URL"] == "https://x.example"
    for bad in ({"PORT": "eighty"}, {"SEED_DEMO_ON_FIRST_RUN": "maybe"}, {"HOTLINE_LANGUAGE": "fr-FR"}):
        with pytest.raises(ConfigError):
            load_config(bad)


def test_masks():
    assert mask_phone("+86 138-0013-8000") == "138****8000"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_waybill("SF1234567890123") == "SF*********0123"
    assert mask_phone("") == "" and mask_waybill("SF1") == "***"


def test_logs_mask_phone_numbers(call, caplog):
    caplog.set_level("INFO")
    call("0", caller="13812345678")
    assert "138****5678" in caplog.text
    assert "13812345678" not in caplog.text


def test_health_reports_each_part(client):
    response = client.get("/health")
    report = response.get_json()
    assert response.status_code == 200
    assert report["redis"] == {"ok": True, "ping": True}
    assert report["database"] == {"ok": True, "select": 1, "pool": {"in_use": 0, "limit": 20, "exhausted": False}}
    assert report["flows"] == {"ok": True, "error": None}
    assert report["worker"]["ok"] is False and report["worker"]["workers"] == 0
    assert report["worker"]["error"] == "no RQ worker is running"
    assert report["callbacks"] == {"ok": True, "late": 0}
    assert report["status"] == "degraded"
    assert report["speech"]["zh-CN"] == {"model": None, "input": "keypad"}


def test_health_with_redis_down_is_503(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    report = app.test_client().get("/health")
    assert report.status_code == 503
    assert report.get_json()["redis"]["ok"] is False and report.get_json()["status"] == "down"


def test_local_carrier_token_is_created_when_twilio_is_not_configured(make_app):
    app = make_app(TWILIO_AUTH_TOKEN="", TWILIO_ACCOUNT_SID="")
    assert app.config["LOCAL_CARRIER"] is True
    assert len(app.config["TWILIO_AUTH_TOKEN"]) == 64
    assert make_app(TWILIO_AUTH_TOKEN="")
    assert make_app(TWILIO_AUTH_TOKEN="").config["TWILIO_AUTH_TOKEN"] == app.config["TWILIO_AUTH_TOKEN"]


@pytest.fixture
def live_server(app, demo_parcels):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_simulator_command_against_a_real_server(live_server):
    completed = subprocess.run(
        [sys.executable, "-m", "ivr.simulator", "call", "--base-url", live_server, "--from", "13800138000",
         "--dtmf", "1", "1234567890123#", "1", "1", "9", "--auth-token", AUTH_TOKEN, "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert set(result) == {"call_sid", "turns", "ended_by"}
    assert result["call_sid"].startswith("CA") and len(result["call_sid"]) == 34
    assert result["ended_by"] == "caller"
    assert [t["pressed"] for t in result["turns"]] == ["1", "1234567890123#", "1", "1", "9", None][:len(result["turns"])]
    assert "正在运输中" in result["turns"][4]["heard"]


def test_simulator_reports_a_refused_call(live_server):
    completed = subprocess.run(
        [sys.executable, "-m", "ivr.simulator", "call", "--base-url", live_server, "--from", "13800138000",
         "--auth-token", "wrong-token", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    result = json.loads(completed.stdout)
    assert completed.returncode == 1
    assert result["ended_by"] == "error" and "HTTP 403" in result["error"]


def test_a_database_too_old_to_upgrade_is_refused_clearly(tmp_path, make_app):
    import sqlite3

    from database import SchemaOutOfDate

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE callbacks (id INTEGER PRIMARY KEY, phone VARCHAR(20))")
    # Not even `python app.py`, which upgrades the schemas it knows, touches it (tests/test_migrations.py
    # has the upgrades).
    with pytest.raises(SchemaOutOfDate, match=r"too old to upgrade \(it lacks callbacks\.attempts, callbacks\.created_at"):
        make_app(DATABASE_URL=f"sqlite:///{path}", UPGRADE_DATABASE=True)


def test_simulator_says_when_the_hotline_is_not_running():
    completed = subprocess.run(
        [sys.executable, "-m", "ivr.simulator", "call", "--base-url", "http://127.0.0.1:9", "--from", "1",
         "--auth-token", "x", "--json"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert "cannot reach the hotline at http://127.0.0.1:9/voice/incoming" in json.loads(completed.stdout)["error"]


def test_instance_files_are_the_hotlines_alone(make_app, tmp_path):
    import redis_conn
    from database import new_session
    from tracking.demo import seed_demo

    os.umask(0o022)  # a usual login's umask: files would be world-readable
    app = make_app(DATABASE_URL="", REDIS_URL="", SECRET_KEY="", TWILIO_AUTH_TOKEN="")
    with app.app_context():
        session = new_session()
        seed_demo(session, datetime(2026, 11, 24, 12, 0))
        session.close()
        embedded = redis_conn.get_redis()
        try:
            embedded.set("hotline:probe", "1")
            embedded.save()
        finally:
            redis_conn.stop_embedded(embedded)
    instance = tmp_path / "instance"
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in instance.iterdir()}
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    assert {"hotline.sqlite3", "redis.rdb", "secret_key", "carrier_token"} <= set(modes)
    assert {name: mode for name, mode in modes.items() if mode & 0o077} == {}


def test_one_settings_file_for_the_server_workers_and_command_line(tmp_path, make_app, monkeypatch):
    """instance/settings.env is read by every entry point, the environment on top of it."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "settings.env").write_text("# the hotline's settings\n\nCALLING_HOURS = '09:00-12:00'\n"
                                           "export AGENT_HOURS=08:00-20:00\nCALLBACK_MAX_ATTEMPTS=5\n")
    monkeypatch.setenv("CALLBACK_MAX_ATTEMPTS", "2")
    app = make_app(INSTANCE_PATH=str(instance))
    assert (app.config["CALLING_HOURS"], app.config["AGENT_HOURS"]) == ("09:00-12:00", "08:00-20:00")
    assert app.config["CALLBACK_MAX_ATTEMPTS"] == 2
    (instance / "settings.env").write_text("CALLING_HOURS=09:00-12:00\nCALLNIG_DAYS=mon-fri\n")
    with pytest.raises(ConfigError, match=r"settings.env:2: not a setting: 'CALLNIG_DAYS=mon-fri'"):
        make_app(INSTANCE_PATH=str(instance))


def flask_command(instance, *arguments, **environment):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *arguments], cwd=root,
                          env={**os.environ, "HOTLINE_INSTANCE": str(instance), **environment},
                          capture_output=True, text=True, timeout=120)


def test_the_command_line_reads_the_settings_file_and_refuses_bad_settings_in_one_line(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "settings.env").write_text("CALLING_HOURS=bad\n")
    refused = flask_command(instance, "flows", "check")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        "Error: cannot start: hours 'bad' are not HH:MM-HH:MM "
        "(CALLING_HOURS, CALLING_DAYS, CALLING_QUIET_HOURS, HOLIDAYS, MAKEUP_WORKDAYS)")
    (instance / "settings.env").write_text("HOTLINE_LANGUAGE=zh-CN\n")
    helped = flask_command(instance, "--help")
    assert helped.returncode == 0 and "callbacks" in helped.stdout
    assert "speech model" not in helped.stderr   # no command listens: no model is looked for
