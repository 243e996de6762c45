"""SQL through SQLAlchemy 2: SQLite by default, PostgreSQL (or any URL) by DATABASE_URL.

Domain packages declare their tables on `Base`; the Flask glue (a session per request,
the `init-db` command) is at the bottom, as in Flask's tutorial `db.py`, importing Flask
only when called so the domain packages that import `Base` stay free of it.
"""
from __future__ import annotations

import os

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


def make_engine(url: str, pool_size: int = 10, pool_timeout: float = 3) -> Engine:
    """pool_size connections kept, as many again on demand; a request that finds them all in use
    waits pool_timeout seconds at most, then fails (and the webhook apologises) rather than hang."""
    pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets the web process read while the RQ worker writes.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def pool_status(engine: Engine) -> dict:
    """Connections in use and the most there can be; `exhausted` when a request would wait."""
    pool = engine.pool
    limit = pool.size() + pool._max_overflow  # QueuePool keeps its overflow limit only here
    in_use = pool.checkedout()
    return {"in_use": in_use, "limit": limit, "exhausted": in_use >= limit}


def create_tables(engine: Engine) -> None:
    # Importing the model modules registers their tables on Base.metadata.
    import callqueue.models  # noqa: F401
    import calls.records  # noqa: F401
    import console.models  # noqa: F401
    import network.models  # noqa: F401
    import notices.models  # noqa: F401
    import tickets.models  # noqa: F401
    import tracking.models  # noqa: F401

    Base.metadata.create_all(engine)


def schema_problems(engine: Engine) -> list[str]:
    """Columns the code expects that an existing database lacks (it was made by an older
    version: create_all adds tables, never columns)."""
    from sqlalchemy import inspect

    inspector = inspect(engine)
    problems = []
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        problems += [f"{table.name}.{column.name}" for column in table.columns if column.name not in present]
    return problems


def init_app(app) -> None:
    engine = make_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL_SIZE"],
                         app.config["DATABASE_POOL_TIMEOUT"])
    # RQ runs each job in a forked child: it must open its own connections, not share ours.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    app.extensions["db_engine"] = engine
    app.extensions["db_sessions"] = sessionmaker(engine, expire_on_commit=False)
    create_tables(engine)
    app.extensions["schema_problems"] = schema_problems(engine)
    app.teardown_appcontext(close_session)
    app.cli.add_command(_init_db_command())


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


def _init_db_command():
    import click
    from flask import current_app
    from flask.cli import with_appcontext

    @click.command("init-db")
    @with_appcontext
    def init_db() -> None:
        """Create any missing tables."""
        create_tables(current_app.extensions["db_engine"])
        click.echo("database ready")

    return init_db
