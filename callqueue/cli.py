"""`flask callbacks list|book` and `flask campaign status|import FILE|run [--dry-run]`."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from callqueue import campaign
from callqueue.callbacks import SLOTS, book_callback
from callqueue.destinations import CallbackRefused
from callqueue.models import Callback
from database import new_session
from importing import report_import
from masking import mask_phone
from tracking.service import PHONE_NUMBER_RULE, is_phone_number, normalise_phone

callbacks_cli = AppGroup("callbacks", help="Scheduled callbacks.")
campaign_cli = AppGroup("campaign", help="The satisfaction campaign (满意度回访).")


def _local(moment) -> str:
    return current_app.extensions["calling_hours"].stamp(moment)


def _schedule(callback) -> None:
    from callqueue.jobs import schedule_callback_job

    schedule_callback_job(callback)


def echo_dry_run(due: list[tuple[str, str]], skipped: list[tuple[str, str, str]], when: str) -> None:
    """What a campaign would do: (phone, what) rows to call at `when`, (phone, why not, what) rows
    skipped; nobody to call is an error (exit 1), as the operator asked for calls."""
    for phone, what in due:
        click.echo(f"call   {mask_phone(phone):<13} at {when}  {what}")
    for phone, why, what in skipped:
        click.echo(f"skip   {mask_phone(phone) or '-':<13} {why}  {what}")
    if not due:
        raise click.ClickException(f"nobody to call ({len(skipped)} skipped)")


def _window() -> timedelta:
    return timedelta(days=current_app.config["CALLBACK_WINDOW_DAYS"])


@callbacks_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="finished ones too")
def list_command(show_all: bool) -> None:
    """Open callbacks (with --all, finished ones too), phones masked."""
    session = new_session()
    try:
        for callback in session.scalars(select(Callback).order_by(Callback.due_at)):
            if show_all or callback.status.value in ("scheduled", "dialling", "ringing"):
                outcomes = ",".join(a.outcome or "…" for a in callback.history) or "-"
                click.echo(f"#{callback.id:<5} {callback.kind:<7} {callback.status.value:<10} {_local(callback.due_at)}"
                           f"  {mask_phone(callback.phone):<13} attempts {callback.attempts} ({outcomes})"
                           f"  {callback.reason}")
    finally:
        session.close()


@callbacks_cli.command("book")
@click.argument("phone")
@click.option("--slot", type=click.Choice(SLOTS), default="soonest")
@click.option("--kind", type=click.Choice(["agent", "survey"]), default="agent")
def book_command(phone: str, slot: str, kind: str) -> None:
    """Book a callback; a slot outside calling hours moves to the next opening."""
    digits = normalise_phone(phone)
    if not is_phone_number(digits):
        raise click.BadParameter(f"a phone number has {PHONE_NUMBER_RULE}", param_hint="PHONE")
    session = new_session()
    try:
        try:
            callback, moved = book_callback(session, phone=digits, slot=slot, now=current_app.config["CLOCK"](),
                                            hours=current_app.extensions["calling_hours"], reason="cli", kind=kind,
                                            window=_window(), destinations=current_app.extensions["callback_destinations"])
        except CallbackRefused as refused:
            raise click.ClickException(f"no callback booked: {refused}") from None
        _schedule(callback)
        note = " (moved to the next opening of calling hours)" if moved else ""
        click.echo(f"callback #{callback.id} to {mask_phone(digits)} at {_local(callback.due_at)}{note}")
    finally:
        session.close()


@campaign_cli.command("status")
def status_command() -> None:
    """Surveys due and reached per day (回访率), and the average score."""
    session = new_session()
    try:
        rows = campaign.daily_figures(session, current_app.extensions["calling_hours"])
        pending = campaign.plan(session)
        click.echo(f"{'day':<12}{'due':>5}{'reached':>9}{'rate':>7}{'score':>7}")
        for row in rows:
            rate = f"{row['rate']:.0%}" if row["rate"] is not None else "-"
            score = f"{row['average_score']:.2f}" if row["average_score"] is not None else "-"
            click.echo(f"{row['day']:<12}{row['due']:>5}{row['reached']:>9}{rate:>7}{score:>7}")
        click.echo(f"not yet in the campaign: {len(pending.due)} due, {len(pending.skipped)} skipped")
    finally:
        session.close()


@campaign_cli.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_command(file: Path) -> None:
    """Add survey contacts from a CSV or JSON file (columns phone, and optionally waybill and ticket).

    Rows that cannot be imported are listed with their line and reason; the others get a survey
    call at the next opening of calling hours, and the command then exits with status 1.
    """
    session = new_session()
    try:
        report_import(file, lambda: campaign.import_contacts(
            session, file, now=current_app.config["CLOCK"](), hours=current_app.extensions["calling_hours"],
            window=_window(), schedule=_schedule, destinations=current_app.extensions["callback_destinations"]))
    finally:
        session.close()


@campaign_cli.command("run")
@click.option("--dry-run", is_flag=True, help="print who would be called when, and why others are not")
def run_command(dry_run: bool) -> None:
    """Book a survey call for every closed complaint and re-delivered parcel not yet called."""
    session = new_session()
    try:
        hours, now = current_app.extensions["calling_hours"], current_app.config["CLOCK"]()
        plan = campaign.plan(session)
        if dry_run:
            when = hours.stamp(hours.next_opening(now))
            echo_dry_run([(c.phone, c.reason) for c in plan.due],
                         [(c.phone, why, c.reason) for c, why in plan.skipped], when)
            return
        booked = campaign.run(session, now=now, hours=hours, window=_window(), schedule=_schedule,
                              destinations=current_app.extensions["callback_destinations"])
        click.echo(f"{len(booked)} survey calls booked; {len(plan.skipped)} skipped")
    finally:
        session.close()
