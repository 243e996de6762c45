"""`flask report daily --date YYYY-MM-DD` and `flask report weekly --week YYYY-Www`."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from config import LANGUAGES
from database import new_session
from reports import figures
from reports.export import FORMATS, export
from tracking.carriers import CARRIERS

report_cli = AppGroup("report", help="Daily and weekly reports.")


def _write(period, fmt: str, output: Path | None, language: str | None, carrier: str | None) -> None:
    session = new_session()
    try:
        data = export(figures.build(session, period, language=language, carrier=carrier), fmt)
    finally:
        session.close()
    scope = "".join(f"-{part}" for part in (language, carrier) if part)
    target = output or Path(f"report-{period.label}{scope}.{fmt}")
    try:
        target.write_bytes(data)
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror}") from None
    click.echo(f"{target} ({len(data)} bytes)")


def report_options(command):
    """The options every report takes: its format, file, and scope."""
    for option in reversed([
        click.option("--format", "fmt", type=click.Choice(FORMATS), default="html"),
        click.option("--output", type=click.Path(path_type=Path, dir_okay=False)),
        click.option("--language", type=click.Choice(LANGUAGES), help="only calls in this language"),
        click.option("--carrier", type=click.Choice(sorted(CARRIERS)), help="only this carrier's parcels"),
    ]):
        command = option(command)
    return command


@report_cli.command("daily")
@click.option("--date", "day", required=True, help="YYYY-MM-DD (local time)")
@report_options
def daily_command(day: str, fmt: str, output: Path | None, language: str | None, carrier: str | None) -> None:
    """One day's report: volumes, problem types, handling times, satisfaction."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter(f"{day!r} is not YYYY-MM-DD", param_hint="--date") from None
    _write(figures.day(when, current_app.extensions["calling_hours"].zone), fmt, output, language, carrier)


@report_cli.command("weekly")
@click.option("--week", required=True, help="ISO week, e.g. 2026-W48")
@report_options
def weekly_command(week: str, fmt: str, output: Path | None, language: str | None, carrier: str | None) -> None:
    """One ISO week's report, with a chart by day."""
    try:
        period = figures.week(week, current_app.extensions["calling_hours"].zone)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--week") from None
    _write(period, fmt, output, language, carrier)
