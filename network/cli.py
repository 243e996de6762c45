"""`flask import-tariffs FILE` and `flask import-branches FILE`."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from database import new_session
from importing import report_import
from network.importer import import_branches, import_tariffs


def _import_command(name: str, load, what: str):
    @click.command(name, help=f"Import {what} from a CSV or JSON file (re-importing updates them); rows that "
                              "cannot be imported are listed with line and reason, and the command exits 1.")
    @click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
    @with_appcontext
    def command(file: Path) -> None:
        session = new_session()
        try:
            report_import(file, lambda: load(session, file))
        finally:
            session.close()

    return command


import_tariffs_command = _import_command("import-tariffs", import_tariffs, "tariffs (see network/importer.py)")
import_branches_command = _import_command("import-branches", import_branches, "branches and their pickup points")


@click.command("pickups")
@click.option("--branch", "branch_code", default="", help="only this branch's pickups (its code)")
@with_appcontext
def pickups_command(branch_code: str) -> None:
    """Booked pickups, per branch and window: the couriers' list."""
    from sqlalchemy import select

    from masking import mask_phone
    from network.models import Branch, PickupOrder

    session = new_session()
    try:
        query = (select(PickupOrder, Branch).join(Branch, PickupOrder.branch_id == Branch.id)
                 .where(PickupOrder.status == "booked").order_by(Branch.code, PickupOrder.day, PickupOrder.window))
        if branch_code:
            if session.scalar(select(Branch.id).where(Branch.code == branch_code)) is None:
                raise click.ClickException(f"no branch {branch_code!r}")
            query = query.where(Branch.code == branch_code)
        for order, branch in session.execute(query):
            address = order.address or f"(recorded: {order.address_recording})"
            click.echo(f"{branch.code:<8} {order.day} {order.window:<9} #{order.number}  {mask_phone(order.phone)}"
                       f"  {address}")
    finally:
        session.close()
