"""`flask import-parcels FILE` and `flask seed-demo`."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from database import new_session
from importing import report_import
from tracking.demo import DEMO_CALLER, seed_demo
from tracking.importer import import_file


@click.command("import-parcels")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
def import_parcels_command(file: Path) -> None:
    """Import parcels from a CSV or JSON file (re-importing updates them).

    Rows that cannot be imported are listed with their line and reason, the others are
    imported, and the command then exits with status 1.
    """
    session = new_session()
    try:
        report_import(file, lambda: import_file(session, file))
    finally:
        session.close()


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo parcels, branches and tariffs; print the parcels' waybill numbers."""
    from network.demo import seed_network

    session = new_session()
    try:
        records = seed_demo(session, current_app.extensions["calling_hours"].local(current_app.config["CLOCK"]()))
        seed_network(session)
    finally:
        session.close()
    click.echo(f"Demo parcels (call from {DEMO_CALLER} to hear details at once):")
    for record in records:
        reason = f" ({record['exception_reason']})" if record["exception_reason"] else ""
        click.echo(f"  {record['waybill']:<16} {record['carrier']:<6} {record['status']}{reason}")
