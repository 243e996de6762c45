"""Alembic migrations: an older database upgrades without losing a row, the entry points that
do not upgrade refuse an out-of-date one, the latest revision is the models' schema, and a
database made before migrations is recognised by its shape."""
from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from flask.cli import FlaskGroup
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text

from database import SchemaOutOfDate, SchemaState, alembic_config, head_revision, load_models, new_session

PREVIOUS = "0001"  # the schema before the callbacks' status index
WHEN = datetime(2026, 11, 20, 2, 0)


def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'older.sqlite3'}"


def build(url: str, revision: str | None = None) -> None:
    """A database at `revision` by the migrations, or without one by create_all (before Alembic)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        if revision:
            command.upgrade(alembic_config(connection), revision)
        else:
            load_models().create_all(connection)
    engine.dispose()


def insert(connection, table: str, **values) -> int:
    """A row as the older schema stores it (its columns reflected, not today's models)."""
    reflected = Table(table, MetaData(), autoload_with=connection)
    return connection.execute(reflected.insert().values(**values)).inserted_primary_key[0]


def fill(url: str) -> None:
    """A ticket, its callback with two attempts, and the call record it came from."""
    engine = create_engine(url)
    with engine.begin() as connection:
        ticket = insert(connection, "tickets", number="T20261120001", category="DAMAGED", status="NEW", name="张三",
                        waybill="SF1234567890123", demand="COMPENSATION", phone="13800138000", channel="phone",
                        call_sid="CA-old-1", created_at=WHEN, first_response_due=WHEN, closure_due=WHEN, owner="",
                        claim_basis="", recording="", transcript="箱子压坏了")
        callback = insert(connection, "callbacks", phone="13800138000", slot="asap", reason="ivr_request",
                          status="SCHEDULED", requested_at=WHEN, due_at=WHEN, created_at=WHEN, kind="agent",
                          ticket_id=ticket, origin_call_sid="CA-old-1", outbound_call_sid="", attempts=2,
                          last_error="", survey_comment="", survey_recording="")
        for number, outcome in ((1, "busy"), (2, "no-answer")):
            insert(connection, "callback_attempts", callback_id=callback, number=number, started_at=WHEN,
                   call_sid=f"CA-out-{number}", outcome=outcome)
        insert(connection, "call_records", call_sid="CA-old-1", direction="inbound", from_phone="13800138000",
               to_phone="4000000000", language="zh-CN", started_at=WHEN, ended_at=WHEN, carrier_status="completed",
               outcome="ticket_created", last_step="complaint_done", waybill="SF1234567890123", carrier="SF",
               events=[{"step": "menu"}], transcript=[{"heard": "箱子压坏了"}])
    engine.dispose()


def revision_of(url: str) -> str | None:
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


def indexes(url: str, table: str) -> set[str]:
    engine = create_engine(url)
    names = {index["name"] for index in inspect(engine).get_indexes(table)}
    engine.dispose()
    return names


def flask_cli(monkeypatch, make_app, url: str, *args: str):
    """`flask --app app ARGS` in process: the app is loaded by flask's own command lookup."""
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "")  # FlaskGroup sets it; it must not outlive the test
    group = FlaskGroup(create_app=lambda: make_app(DATABASE_URL=url), load_dotenv=False)
    return CliRunner().invoke(group, list(args))


def test_an_older_database_upgrades_with_every_row_kept(tmp_path, make_app, monkeypatch):
    url = sqlite_url(tmp_path)
    build(url, PREVIOUS)
    fill(url)

    current = flask_cli(monkeypatch, make_app, url, "db", "current")
    assert current.exit_code == 0 and f"{PREVIOUS}; latest is {head_revision()}" in current.output
    upgraded = flask_cli(monkeypatch, make_app, url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded the database from {PREVIOUS} to {head_revision()}" in upgraded.output
    assert (tmp_path / f"older.sqlite3.{PREVIOUS}.bak").exists()  # SQLite is copied before it changes
    assert revision_of(url) == head_revision() and "ix_callbacks_status" in indexes(url, "callbacks")
    assert "ix_tickets_phone" in indexes(url, "tickets")

    from callqueue.models import Callback, CallbackStatus
    from calls.records import CallRecord
    from tickets.models import Ticket

    app = make_app(DATABASE_URL=url)  # an entry point that never upgrades now starts
    with app.app_context():
        session = new_session()
        ticket = session.scalars(select(Ticket)).one()
        callback = session.scalars(select(Callback)).one()
        record = session.scalars(select(CallRecord)).one()
        assert ticket.number == "T20261120001" and ticket.transcript == "箱子压坏了"
        assert callback.ticket_id == ticket.id and callback.status is CallbackStatus.SCHEDULED
        assert [(a.number, a.outcome) for a in callback.history] == [(1, "busy"), (2, "no-answer")]
        assert record.call_sid == "CA-old-1" and record.transcript == [{"heard": "箱子压坏了"}]
        session.close()


def test_entry_points_that_do_not_upgrade_refuse_an_out_of_date_database(tmp_path, make_app, monkeypatch):
    url = sqlite_url(tmp_path)
    build(url, PREVIOUS)
    # gunicorn's create_app(), the worker and the ticker all start through create_app.
    with pytest.raises(SchemaOutOfDate, match=f"at revision {PREVIOUS}; .*run `flask --app app db upgrade`"):
        make_app(DATABASE_URL=url)
    refused = flask_cli(monkeypatch, make_app, url, "agents", "list")
    assert refused.exit_code == 1 and "run `flask --app app db upgrade`" in refused.output
    assert revision_of(url) == PREVIOUS  # nothing was changed behind the operator's back


def test_a_database_from_a_newer_version_is_refused_even_by_the_local_mode(tmp_path, make_app, monkeypatch):
    url = sqlite_url(tmp_path)
    build(url, "head")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="revision 0999, which this version does not know"):
        make_app(DATABASE_URL=url, UPGRADE_DATABASE=True)
    upgrade = flask_cli(monkeypatch, make_app, url, "db", "upgrade")
    assert upgrade.exit_code == 1 and "a newer version made it" in upgrade.output


def test_the_latest_revision_is_the_models_schema(tmp_path):
    url = sqlite_url(tmp_path)
    build(url, "head")
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), load_models())
    engine.dispose()
    assert not differences, ("the models changed without a migration: write one with "
                             f"`flask --app app db revision --autogenerate -m '...'` and review it: {differences}")


# Indexes today's models have that the releases before Alembic did not (they came with 0003).
SINCE_ALEMBIC = ("ix_tickets_phone", "ix_call_records_from_phone_started_at")


@pytest.mark.parametrize("made_by, recorded_as, lacking", [
    ("create_all with the callbacks' status index", "0002", SINCE_ALEMBIC),
    ("create_all before the callbacks' status index", PREVIOUS, (*SINCE_ALEMBIC, "ix_callbacks_status")),
])
def test_a_database_made_before_migrations_is_recorded_then_upgraded(tmp_path, make_app, made_by, recorded_as,
                                                                     lacking):
    url = sqlite_url(tmp_path)
    build(url)  # as those releases did, less what they did not have
    engine = create_engine(url)
    with engine.begin() as connection:
        for index in lacking:
            connection.execute(text(f"DROP INDEX {index}"))
    engine.dispose()
    fill(url)
    with pytest.raises(SchemaOutOfDate, match=f"{recorded_as} \\(made before migrations"):
        make_app(DATABASE_URL=url)

    app = make_app(DATABASE_URL=url, UPGRADE_DATABASE=True)  # python app.py, the one-machine local mode
    assert app.extensions["db_upgrade"].start == SchemaState(recorded_as, recorded=False)
    assert revision_of(url) == head_revision() and "ix_callbacks_status" in indexes(url, "callbacks")
    assert "ix_tickets_phone" in indexes(url, "tickets")
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM callback_attempts")) == 2
    engine.dispose()


UPGRADE_IN_A_PROCESS = """
import sys
from database import make_engine, prepare_schema
engine = make_engine(sys.argv[1])
sys.stdin.readline()  # started together: each waits for the word to go
print(prepare_schema(engine, upgrade=False))
"""


def test_processes_starting_together_on_a_new_sqlite_file_create_it_once(tmp_path):
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    workers = [subprocess.Popen([sys.executable, "-c", UPGRADE_IN_A_PROCESS, url], cwd=root, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(6)]
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0] * len(workers), [err for _, err in results]
    outputs = sorted(out.strip() for out, _ in results)
    # One created it; the others found it done (prepare_schema returns None) or saw it current.
    assert outputs.count(f"created the database at revision {head_revision()}") == 1, outputs
    engine = create_engine(url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()
        assert not compare_metadata(MigrationContext.configure(connection), load_models())
    engine.dispose()
