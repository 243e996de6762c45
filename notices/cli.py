"""`flask announcements add|list|remove`."""
from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from callqueue.cli import echo_dry_run
from callqueue.jobs import schedule_callback_job
from clock import to_naive_utc
from database import new_session
from masking import mask_waybill
from notices import campaign
from notices.announcements import add_announcement
from notices.models import Announcement
from tracking.status import parse_reason

announcements_cli = AppGroup("announcements", help="What the hotline announces (holidays, weather, backlogs).")


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@announcements_cli.command("add")
@click.argument("text")
@click.option("--from", "starts", help="first day (YYYY-MM-DD; default today)")
@click.option("--to", "ends", help="last day (YYYY-MM-DD; default the first day)")
@click.option("--carrier", default="", help="only for parcels of this carrier (SF, ZTO, ...)")
@click.option("--region", default="", help="only for parcels leaving, reaching or at this place")
@click.option("--route", default="", help="only for parcels on this route, origin-destination")
@click.option("--by", "created_by", default="supervisor")
def add_command(text, starts, ends, carrier, region, route, created_by) -> None:
    """Announce TEXT after the greeting (no scope), or to tracking callers whose parcel is in scope."""
    now = current_app.config["CLOCK"]()
    first = _day(starts) or current_app.extensions["calling_hours"].local(now).date()
    session = new_session()
    try:
        announcement = add_announcement(session, text=text, starts_on=first, ends_on=_day(ends) or first,
                                        now=to_naive_utc(now), carrier=carrier, region=region, route=route,
                                        created_by=created_by)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    finally:
        session.close()
    click.echo(f"announcement #{announcement.id}: {announcement.starts_on} to {announcement.ends_on}")


@announcements_cli.command("list")
def list_command() -> None:
    """Every announcement with its dates and who hears it."""
    session = new_session()
    try:
        for a in session.scalars(select(Announcement).order_by(Announcement.starts_on)):
            scope = " ".join(f"{k}={v}" for k, v in (("carrier", a.carrier), ("region", a.region),
                                                      ("route", a.route)) if v) or "everyone"
            click.echo(f"#{a.id:<4} {a.starts_on} .. {a.ends_on}  [{scope}]  {a.text}")
    finally:
        session.close()


@announcements_cli.command("remove")
@click.argument("announcement_id", type=int)
def remove_command(announcement_id: int) -> None:
    """Stop an announcement (by its #number from list)."""
    session = new_session()
    try:
        announcement = session.get(Announcement, announcement_id)
        if announcement is None:
            raise click.ClickException(f"no announcement #{announcement_id}")
        session.delete(announcement)
        session.commit()
    finally:
        session.close()
    click.echo(f"announcement #{announcement_id} removed")


notices_cli = AppGroup("notices", help="Proactive notice calls to recipients of parcels hit by one exception.")


@notices_cli.command("start")
@click.option("--location", default="", help="the scan location holding the parcels, e.g. 郑州分拨中心")
@click.option("--route", default="", help="or the route, origin-destination, e.g. 义乌-西安")
@click.option("--reason", default="", help="only parcels held for this reason (backlog, weather, ...)")
@click.option("--dry-run", is_flag=True, help="print who would be called when, and why others are not")
def start_command(location: str, route: str, reason: str, dry_run: bool) -> None:
    """Call the recipients of affected parcels (calling hours, pacing and do-not-call apply)."""
    try:
        held_for = parse_reason(reason) if reason else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--reason") from None
    if not location and not route:
        raise click.UsageError("name a --location or a --route")
    hours, now = current_app.extensions["calling_hours"], current_app.config["CLOCK"]()
    session = new_session()
    try:
        parcels = campaign.affected(session, location=location, route=route, reason=held_for)
        if not parcels:
            where = f"at {location}" if location else f"on route {route}"
            raise click.ClickException(f"no parcels held {where}{f' for {reason}' if reason else ''}")
        plan = campaign.plan(session, parcels)
        if dry_run:
            when = hours.stamp(hours.next_opening(now))
            echo_dry_run([(p.recipient_phone, mask_waybill(p.waybill)) for p in plan.due],
                         [(p.recipient_phone, why, mask_waybill(p.waybill)) for p, why in plan.skipped], when)
            return
        booked = campaign.start(session, parcels, now=now, hours=hours, schedule=schedule_callback_job,
                                window=timedelta(days=current_app.config["CALLBACK_WINDOW_DAYS"]),
                                destinations=current_app.extensions["callback_destinations"])
        click.echo(f"{len(parcels)} parcels affected: {len(booked)} notice calls booked, {len(plan.skipped)} skipped")
    finally:
        session.close()
