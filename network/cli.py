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
