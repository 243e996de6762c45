"""Whether this process is the `flask` command line (which needs no speech models and
reports a bad setting in one line, not a traceback)."""
from __future__ import annotations


def loaded_by_flask_cli() -> bool:
    """True while `flask` loads the app to find the command it was given (it loads it before
    knowing which); not for `flask run` or `flask shell`, which load it inside their own command."""
    import click
    from flask.cli import FlaskGroup

    context = click.get_current_context(silent=True)
    return context is not None and isinstance(context.command, FlaskGroup)
