"""The hotline's app factory, and `python app.py`: the whole hotline on one machine.

`python app.py` starts an embedded Redis (unless REDIS_URL is set), an RQ worker with
its scheduler as a child process, and the web app on 127.0.0.1:PORT; Ctrl-C stops all three.
"""
from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask

import database
import logs
import redis_conn
import speech
from callqueue import ticker
from callqueue.destinations import from_config as destinations_from_config
from clock import to_naive_utc, utcnow
from config import ConfigError, agent_hours, calling_hours, from_environment, instance_folder
from flask_cli import loaded_by_flask_cli
from flows.engine import Engine
from flows.errors import FlowError
from speech.tts import PromptCache

log = logging.getLogger("hotline")


def _instance_secret(app: Flask, name: str) -> str:
    """A random secret kept in the instance folder (never a default baked into the code)."""
    path = os.path.join(app.instance_path, name)
    if not os.path.exists(path):
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_hex(32))
    with open(path) as file:
        return file.read().strip()


def _keep_files_private(instance_path: str) -> None:
    """The instance folder holds callers' data and secrets (the SQLite database and its backups,
    the embedded Redis's dump, callers' recorded messages, secret_key, carrier_token): the folder
    is 0700 (one an earlier version made is tightened) and every file this process makes, or the
    Redis server it starts, is 0600. A umask rather than a chmod per file: SQLite (its -wal and
    -shm files), redis-server and the libraries create files of their own."""
    os.umask(0o077)
    os.makedirs(instance_path, mode=0o700, exist_ok=True)
    os.chmod(instance_path, 0o700)


def create_app(config: dict | None = None) -> Flask:
    # Every entry point builds the app (gunicorn, the worker, the ticker, flask commands): so
    # every process masks phone and waybill numbers in all its logs, whoever configured them,
    # and keeps its files to itself.
    logs.install_masking()
    config = config or {}
    instance_path = config.get("INSTANCE_PATH") or instance_folder()
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    _keep_files_private(app.instance_path)
    command_line = loaded_by_flask_cli()
    try:
        app.config.update(from_environment(app.instance_path))
    except ConfigError as error:
        if command_line:
            raise click.ClickException(f"cannot start: {error}") from None
        raise
    app.config.update(config)
    if command_line:  # no command listens to callers: loading a model would only cost time
        app.config["LOAD_SPEECH_MODELS"] = False
    app.config.setdefault("CLOCK", utcnow)
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "hotline.sqlite3")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app, "secret_key")
    # Without a Twilio account the carrier simulator plays the carrier, signing webhooks with
    # this instance's own token unless one is given.
    app.config["LOCAL_CARRIER"] = not app.config["TWILIO_ACCOUNT_SID"]
    if not app.config["TWILIO_AUTH_TOKEN"]:
        app.config["TWILIO_AUTH_TOKEN"] = _instance_secret(app, "carrier_token")

    from tickets import SlaPolicy

    app.extensions["calling_hours"] = calling_hours(app.config)
    app.extensions["sla_policy"] = SlaPolicy(
        first_response=timedelta(minutes=app.config["SLA_FIRST_RESPONSE_MINUTES"]),
        closure=timedelta(hours=app.config["SLA_CLOSURE_HOURS"]),
        zone=app.extensions["calling_hours"].zone,
    )
    app.extensions["callback_destinations"] = destinations_from_config(app.config)
    app.extensions["agent_hours"] = agent_hours(app.config)
    _load_flows(app)

    database.init_app(app)
    redis_conn.init_app(app)
    speech.init_app(app)
    app.extensions["prompt_cache"] = PromptCache(Path(app.instance_path) / "prompts")

    import console.api
    import console.phone
    import console.security
    import console.sessions
    import console.softphone
    import console.views
    import health
    import ivr.media
    import ivr.views
    import metrics
    from callqueue.cli import callbacks_cli, campaign_cli
    from console.cli import agents_cli
    from flows.cli import flows_cli
    from network.cli import import_branches_command, import_tariffs_command, pickups_command
    from notices.cli import announcements_cli, notices_cli
    from reports.cli import report_cli
    from tracking.cli import import_parcels_command, seed_demo_command

    app.register_blueprint(ivr.views.bp)
    ivr.media.init_app(app)
    app.register_blueprint(console.api.bp)
    app.register_blueprint(console.views.bp)
    app.register_blueprint(console.softphone.bp)
    app.register_blueprint(console.phone.bp)     # the local audio bridge: agent <-> caller
    console.sessions.init_app(app)   # console logins in Redis: a cookie holds only the session id
    console.security.init_app(app)   # security headers on every response
    app.cli.add_command(agents_cli)
    app.cli.add_command(callbacks_cli)
    app.cli.add_command(campaign_cli)
    app.cli.add_command(report_cli)
    app.register_blueprint(health.bp)
    metrics.init_app(app)
    app.cli.add_command(flows_cli)
    app.cli.add_command(import_parcels_command)
    app.cli.add_command(import_tariffs_command)
    app.cli.add_command(pickups_command)
    app.cli.add_command(announcements_cli)
    app.cli.add_command(notices_cli)
    app.cli.add_command(import_branches_command)
    app.cli.add_command(seed_demo_command)
    return app


def _load_flows(app: Flask) -> None:
    """Flows and prompts are checked at start; a broken one is reported, not half-used."""
    from flows.cli import load_checked

    app.extensions.update(flow_engine=None, prompt_catalogues={}, flow_error=None)
    try:
        flows, catalogues = load_checked()
    except FlowError as error:
        app.extensions["flow_error"] = str(error)
        log.error("flows are invalid: %s", error)
        return
    app.extensions.update(flow_engine=Engine(flows), prompt_catalogues=catalogues)


def _prepare(app: Flask) -> None:
    """First-run demo data, and callbacks whose jobs Redis lost."""
    from sqlalchemy import func, select

    from callqueue.jobs import get_queue, recover_callbacks
    from database import new_session
    from network.demo import seed_network
    from redis_conn import get_redis
    from speech.tts import prerender
    from tracking.demo import seed_demo
    from tracking.models import Parcel

    with app.app_context():
        session = new_session()
        try:
            if app.config["SEED_DEMO_ON_FIRST_RUN"] and not session.scalar(select(func.count(Parcel.id))):
                seed_demo(session, app.extensions["calling_hours"].local(app.config["CLOCK"]()))
                seed_network(session)
                log.info("loaded demo parcels, branches and tariffs: flask --app app seed-demo lists the parcels")
            repaired = recover_callbacks(session, get_queue(get_redis()), get_redis(),
                                         to_naive_utc(app.config["CLOCK"]()),
                                         batch=app.config["CALLBACK_RECOVERY_BATCH"])
            if repaired:
                log.info("recovered %d callbacks", repaired)
        finally:
            session.close()
    language = app.config["HOTLINE_LANGUAGE"]
    if app.extensions["speech_models"].get(language) is not None:
        # Speech calls play rendered prompts: have the fixed ones ready before the first call.
        threading.Thread(target=prerender, daemon=True, name="prerender", args=(
            app.extensions["prompt_catalogues"][language], app.extensions["prompt_cache"],
            {"brand": app.config["HOTLINE_BRAND"]}, "speech")).start()


BANNER = """
  Hotline answering on http://127.0.0.1:{port}  (health: /health)
  Place a test call from another terminal (demo caller, SF parcel in transit):

    .venv/bin/python -m ivr.simulator call --base-url http://127.0.0.1:{port} \\
        --from 13800138000 --dtmf 1 1234567890123# 1 1 9

  Demo waybills: .venv/bin/flask --app app seed-demo    Stop: Ctrl-C
"""


def _stop_process_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop_on_sigterm(_signum, _frame) -> None:
    raise KeyboardInterrupt  # the same clean stop as Ctrl-C


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    try:
        # The one-machine local mode: nothing else has the database open yet (the worker starts
        # below), so it upgrades it. Every other entry point (gunicorn, the worker, the ticker, the
        # CLI) refuses an out-of-date one and names `flask --app app db upgrade`.
        app = create_app({"UPGRADE_DATABASE": True})
    except (database.SchemaOutOfDate, ConfigError) as error:
        sys.exit(f"cannot start: {error}")
    logs.configure(app.config["LOG_JSON"])
    if app.extensions["db_upgrade"]:
        log.info("%s (python app.py, the one-machine local mode, upgrades its own database; elsewhere run "
                 "`%s` before starting)", app.extensions["db_upgrade"], database.UPGRADE_COMMAND)
    if app.extensions["flow_error"]:
        sys.exit(f"cannot start: {app.extensions['flow_error']}")
    embedded = None
    if not app.config["REDIS_URL"]:
        embedded = redis_conn.start_embedded(app.instance_path)
        app.config["REDIS_URL"] = redis_conn.socket_url(embedded)
    worker = None
    clock_stop = threading.Event()
    try:
        _prepare(app)
        environment = {**os.environ, "REDIS_URL": app.config["REDIS_URL"]}
        # Its own process group, so the worker and its scheduler stop together, before Redis.
        worker = subprocess.Popen([sys.executable, "-m", "callqueue.worker"], env=environment,
                                  start_new_session=True)
        threading.Thread(target=ticker.run, args=(app, clock_stop), daemon=True, name="acd-clock").start()
        print(BANNER.format(port=app.config["PORT"]), flush=True)
        app.run(host="127.0.0.1", port=app.config["PORT"], threaded=True, use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        # A second Ctrl-C must not cut the clean-up short and orphan Redis or the worker.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        clock_stop.set()
        if worker is not None:
            _stop_process_group(worker)
        if embedded is not None:
            redis_conn.stop_embedded(embedded)
        print("hotline stopped", flush=True)


if __name__ == "__main__":
    main()
