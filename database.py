"""SQL through SQLAlchemy 2: SQLite by default, PostgreSQL (or any URL) by DATABASE_URL.

Domain packages declare their tables on `Base`; Alembic migrations (migrations/) make and
change the schema. The Flask glue (a session per request, the schema check at start, the `db`
commands) is at the bottom, as in Flask's tutorial `db.py`, importing Flask only when called so
the domain packages that import `Base` stay free of it.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing, contextmanager
from functools import cache
from pathlib import Path
from typing import NamedTuple

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from flask_cli import loaded_by_flask_cli

UPGRADE_COMMAND = "flask --app app db upgrade"
MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# Databases made before Alembic (by create_all) have the schema of one of these revisions:
# the release before the callbacks' status index, or the one with it.
PRE_ALEMBIC_REVISIONS = ("0001", "0002")
# pg_advisory_xact_lock's key for upgrades: any constant no other code locks on.
UPGRADE_LOCK = 0x686F746C696E65  # "hotline"


class Base(DeclarativeBase):
    pass


def make_engine(url: str, pool_size: int = 10, pool_timeout: float = 3) -> Engine:
    """pool_size connections kept, as many again on demand; a request that finds them all in use
    waits pool_timeout seconds at most, then fails (and the webhook apologises) rather than hang."""
    options = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": pool_timeout,
               # Parameters are callers' phones and waybills: an error (and its traceback) shows the SQL only.
               "hide_parameters": True}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the web process read while the RQ worker writes.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def pool_status(engine: Engine) -> dict:
    """Connections in use and the most there can be; `exhausted` when a request would wait."""
    pool = engine.pool
    limit = pool.size() + pool._max_overflow  # QueuePool keeps its overflow limit only here
    in_use = pool.checkedout()
    return {"in_use": in_use, "limit": limit, "exhausted": in_use >= limit}


def load_models() -> MetaData:
    """Base.metadata with every table: importing the model modules registers them."""
    import callqueue.models  # noqa: F401
    import calls.records  # noqa: F401
    import console.models  # noqa: F401
    import network.models  # noqa: F401
    import notices.models  # noqa: F401
    import tickets.models  # noqa: F401
    import tracking.models  # noqa: F401

    return Base.metadata


# Schema: Alembic, configured here rather than in an alembic.ini, against the app's own connection.

class SchemaOutOfDate(RuntimeError):
    """The database is not at the schema this code needs and this entry point does not upgrade it."""


class SchemaState(NamedTuple):
    revision: str | None  # None: a new database, none of our tables in it
    recorded: bool        # in Alembic's version table; False: made before Alembic, known by its shape

    @property
    def current(self) -> bool:
        return self.recorded and self.revision == head_revision()

    def __str__(self) -> str:
        if self.revision is None:
            return "new (no tables)"
        return self.revision if self.recorded else f"{self.revision} (made before migrations, so not yet recorded)"


class Upgrade(NamedTuple):
    start: SchemaState
    backup: str | None  # a copy of the SQLite file from before the upgrade

    def __str__(self) -> str:
        head = head_revision()
        if self.start.revision is None:
            return f"created the database at revision {head}"
        if self.start.current:
            return f"the database is at {head}, the latest revision"
        kept = f"; the database before it is kept at {self.backup}" if self.backup else ""
        if self.start.revision == head:
            return f"recorded the database, made before migrations, at revision {head}{kept}"
        return f"upgraded the database from {self.start} to {head}{kept}"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")  # 0003_callbacks_note.py
    config.attributes["connection"] = connection  # migrations/env.py runs on it
    return config


@cache
def migration_scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    return migration_scripts().get_current_head()


def schema_state(connection: Connection) -> SchemaState:
    """Where the database is: Alembic's record, or for a database made before Alembic the
    revision whose shape it has. Raises SchemaOutOfDate when no revision of this code fits."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        if revision not in {script.revision for script in migration_scripts().walk_revisions()}:
            raise SchemaOutOfDate(f"the database at {_shown_url(connection)} is at revision {revision}, which this "
                                  "version does not know: a newer version made it. Run that version, or restore "
                                  "the backup taken before its upgrade.")
        return SchemaState(revision, recorded=True)
    if not set(inspect(connection).get_table_names()) & set(load_models().tables):
        return SchemaState(None, recorded=False)
    shape = _schema_shape(connection)
    for revision in reversed(PRE_ALEMBIC_REVISIONS):
        if not _missing(shape, _revision_shape(revision)):
            return SchemaState(revision, recorded=False)
    missing = _missing(shape, _revision_shape(PRE_ALEMBIC_REVISIONS[0]))
    raise SchemaOutOfDate(f"the database at {_shown_url(connection)} was made by a version too old to upgrade "
                          f"(it lacks {', '.join(missing[:5])}). Back it up and point DATABASE_URL at a new one.")


def prepare_schema(engine: Engine, upgrade: bool) -> Upgrade | None:
    """At start: a new database is created at the latest revision (there is nothing to lose);
    an older one is upgraded when `upgrade` is set (`python app.py`, the one-machine local mode)
    and refused otherwise: several processes must not upgrade under each other's feet."""
    # Checked under the upgrade lock too: a process reading a new SQLite file while another
    # creates it could be refused with "database is locked" on a loaded machine.
    with _sqlite_upgrade_lock(engine), engine.connect() as connection:
        if schema_state(connection).current:
            return None
    # Anything else is decided under the upgrade lock: another process may be creating it now.
    return upgrade_database(engine, older_too=upgrade)


def upgrade_database(engine: Engine, older_too: bool = True) -> Upgrade:
    """Brings the database to the latest revision, first recording the revision of one made
    before Alembic; an SQLite file is copied beside itself before anything changes. Without
    `older_too`, only a new database is created and an older one raises SchemaOutOfDate."""
    sqlite = engine.dialect.name == "sqlite"
    with _sqlite_upgrade_lock(engine), engine.connect() as connection:
        if sqlite:
            # A batch migration copies a table and drops the old one: with foreign keys on, the drop
            # fails or cascades into the rows that refer to it. SQLite ignores the pragma in a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Processes starting together on a new database: one creates it, the others wait, then find it done.
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
                state = schema_state(connection)
                if not older_too and state.revision is not None and not state.current:
                    raise SchemaOutOfDate(f"the database at {_shown_url(engine)} is at revision {state}; this version "
                                          f"needs {head_revision()}. Back it up, run `{UPGRADE_COMMAND}`, then start again.")
                backup = _copy_sqlite(connection, state) if sqlite and state.revision and not state.current else None
                config = alembic_config(connection)
                if state.revision and not state.recorded:
                    command.stamp(config, state.revision)
                command.upgrade(config, "head")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return Upgrade(state, backup)


@contextmanager
def _sqlite_upgrade_lock(engine: Engine):
    """SQLite has no advisory lock, and its transactions do not cover the schema checks Alembic
    makes first: workers starting together on a new file would each create the tables. A lock on a
    file beside the database makes them take turns, as pg_advisory_xact_lock does on PostgreSQL."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":  # nothing shared to race on
        yield
        return
    with open(f"{path}.upgrade-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even if this process dies
        yield


def _shown_url(bind: Engine | Connection) -> str:
    return bind.engine.url.render_as_string(hide_password=True)


def _schema_shape(connection: Connection) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Each table's column and index names: what tells two releases' schemas apart (column
    types are spelt differently by SQLite and PostgreSQL; names are not)."""
    inspector = inspect(connection)
    return {table: (frozenset(column["name"] for column in inspector.get_columns(table)),
                    frozenset(index["name"] for index in inspector.get_indexes(table)
                              if "duplicates_constraint" not in index))  # PostgreSQL's unique constraints
            for table in inspector.get_table_names() if table != "alembic_version"}


@cache
def _revision_shape(revision: str) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """The shape of the schema at a revision, from running the migrations on a scratch database."""
    with create_engine("sqlite://").connect() as scratch:
        command.upgrade(alembic_config(scratch), revision)
        return _schema_shape(scratch)


def _missing(shape: dict, expected: dict) -> list[str]:
    """What `shape` lacks, or has beyond, `expected`'s tables (other tables do not matter): the
    columns and indexes of tables it has first, then the tables it lacks."""
    found, tables = [], []
    for table, (columns, indexes) in expected.items():
        if table not in shape:
            tables.append(f"table {table}")
            continue
        have_columns, have_indexes = shape[table]
        found += [f"{table}.{column}" for column in sorted(columns - have_columns)]
        found += [f"index {index}" for index in sorted(indexes - have_indexes)]
        found += [f"{table}.{column} (unknown)" for column in sorted(have_columns - columns)]
        found += [f"index {index} (unknown)" for index in sorted(have_indexes - indexes)]
    return found + tables


def _copy_sqlite(connection: Connection, state: SchemaState) -> str | None:
    path = connection.engine.url.database
    if not path or path == ":memory:":
        return None
    backup = f"{path}.{state.revision if state.recorded else 'pre-migrations'}.bak"
    # An existing copy from this revision is kept: it was taken before any attempt to leave it (a
    # failed SQLite upgrade can stop half way, and a second copy would be of that).
    if not os.path.exists(backup):
        with closing(sqlite3.connect(backup)) as copy:
            connection.connection.driver_connection.backup(copy)
    return backup


# Flask glue

def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"],
                         app.config["DATABASE_POOL_TIMEOUT"])
    # RQ runs each job in a forked child: it must open its own connections, not share ours.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = sessionmaker(engine, expire_on_commit=False)
    try:
        app.extensions["db_upgrade"] = prepare_schema(engine, upgrade=app.config.get("UPGRADE_DATABASE", False))
    except SchemaOutOfDate as refusal:
        if not loaded_by_flask_cli():
            raise
        _allow_only_db_commands(app, str(refusal))
    app.teardown_appcontext(close_session)
    app.cli.add_command(_db_commands())


def get_session() -> Session:
    from flask import current_app, g

    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessions"]()
    return g.db_session


def new_session() -> Session:
    """A session outside the request cycle (CLI commands, RQ jobs): the caller closes it."""
    from flask import current_app

    return current_app.extensions["db_sessions"]()


def close_session(_exc=None) -> None:
    from flask import g

    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _allow_only_db_commands(app, refusal: str) -> None:
    """The `db` commands must work on an out-of-date database (they are what upgrades it), so
    under `flask` the app loads; every other command then refuses with the reason."""
    import click
    from flask.cli import AppGroup

    class DbOnlyGroup(AppGroup):
        def get_command(self, ctx, name):
            command = super().get_command(ctx, name)
            if command is None or name == "db":
                return command

            def refuse() -> None:
                raise click.ClickException(refusal)

            return click.Command(name, callback=refuse, help=command.help, context_settings={
                "ignore_unknown_options": True, "allow_extra_args": True})

    group = DbOnlyGroup(app.cli.name)
    group.commands.update(app.cli.commands)
    app.cli = group


def _db_commands():
    import click
    from flask import current_app
    from flask.cli import AppGroup

    def engine() -> Engine:
        return current_app.extensions["db_engine"]

    db = AppGroup("db", help="The database's schema: Alembic migrations under migrations/.")

    @db.command("upgrade")
    def upgrade() -> None:
        """Bring the database to this version's schema (back it up first)."""
        try:
            click.echo(str(upgrade_database(engine())))
        except SchemaOutOfDate as error:  # newer than this code, or too old: said, not a traceback
            raise click.ClickException(str(error)) from None

    @db.command("current")
    def current() -> None:
        """The revision the database is at."""
        try:
            with engine().connect() as connection:
                state = schema_state(connection)
        except SchemaOutOfDate as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"{state}{' (latest)' if state.current else f'; latest is {head_revision()}'}")

    @db.command("history")
    def history() -> None:
        """Every revision, newest first."""
        for script in migration_scripts().walk_revisions():
            click.echo(f"{script.revision}  {script.doc.splitlines()[0]}")

    @db.command("revision")
    @click.option("-m", "--message", required=True, help="what the change does, in a few words")
    @click.option("--autogenerate", is_flag=True, help="write the operations that bring the database to the models")
    def revision(message: str, autogenerate: bool) -> None:
        """Write a new migration under migrations/versions: review it, then commit it."""
        with engine().connect() as connection:
            script = command.revision(alembic_config(connection), message, autogenerate=autogenerate,
                                      rev_id=f"{int(head_revision()) + 1:04d}")
        click.echo(f"wrote {script.path}")

    return db
