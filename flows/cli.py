"""`flask flows check` and `flask flows diagram NAME`."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from config import LANGUAGES
from flows.effects import EFFECTS
from flows.errors import FlowError
from flows.loader import FLOWS_DIR, check_references, check_words, load_flows, mermaid
from flows.prompts import PROMPTS_DIR, load_catalogues

flows_cli = AppGroup("flows", help="Check and draw the call flows.")


def load_checked(flows_dir: Path = FLOWS_DIR, prompts_dir: Path = PROMPTS_DIR):
    """Every flow and catalogue, fully checked; raises FlowError naming file, step and problem."""
    flows = load_flows(flows_dir)
    catalogues = load_catalogues(LANGUAGES, prompts_dir)
    check_words(catalogues)
    for flow in flows.values():
        check_references(flow, set(EFFECTS), catalogues)
    return flows, catalogues


@flows_cli.command("check", with_appcontext=False)
@click.option("--dir", "flows_dir", type=click.Path(path_type=Path, file_okay=False), default=FLOWS_DIR)
def check_command(flows_dir: Path) -> None:
    """Validate all flows and prompts; exit 1 on the first error."""
    try:
        flows, _ = load_checked(flows_dir, flows_dir / "prompts")
    except FlowError as error:
        raise click.ClickException(str(error)) from None  # "Error: ...", exit 1
    for flow in flows.values():
        click.echo(f"ok: {flow.name} ({len(flow.steps)} steps) in {flow.file}")


@flows_cli.command("diagram", with_appcontext=False)
@click.argument("name")
def diagram_command(name: str) -> None:
    """Print a flow as a Mermaid diagram."""
    try:
        flows, _ = load_checked()
    except FlowError as error:
        raise click.ClickException(str(error)) from None
    if name not in flows:
        raise click.ClickException(f"no flow {name!r}; flows: {', '.join(sorted(flows))}")
    click.echo(mermaid(flows[name]), nl=False)
