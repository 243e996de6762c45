"""`flask speech models` and `flask speech fetch-models LANG…`."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from config import LANGUAGES
from speech.models import CATALOGUE, ModelError, env_name, fetch_model, model_path

speech_cli = AppGroup("speech", help="Speech models.")


@speech_cli.command("models")
def models_command() -> None:
    """List each language's model, and where it was found."""
    for language in LANGUAGES:
        path = model_path(language, current_app.instance_path)
        where = str(path) if path else f"none (keypad only; fetch-models {language} or set {env_name(language)})"
        click.echo(f"{language}: {where}")


@speech_cli.command("fetch-models")
@click.argument("languages", nargs=-1, required=True, type=click.Choice(sorted(CATALOGUE)))
@click.option("--sha256", help="the expected SHA-256 of the archive, instead of the pinned one (e.g. for a mirror's other build)")
@click.option("--url", help="fetch from this URL (a mirror) instead of the official site")
def fetch_models_command(languages, sha256, url) -> None:
    """Download official Vosk models, verify their SHA-256, unpack them under instance/models/."""
    failed = False
    for language in languages:
        try:
            path = fetch_model(language, current_app.instance_path, sha256=sha256, url=url, progress=click.echo)
            click.echo(f"{language}: {path}")
        except ModelError as error:
            click.echo(f"{language}: {error}", err=True)
            failed = True
    if failed:
        raise SystemExit(1)


@speech_cli.command("render-prompts")
def render_prompts_command() -> None:
    """Render the hotline language's fixed prompts into the prompt cache (run at deploy)."""
    from speech.tts import prerender

    language = current_app.config["HOTLINE_LANGUAGE"]
    # A keypad-only line plays rendered prompts only to a softphone: its keypad wordings.
    input_mode = "speech" if current_app.extensions["speech_models"].get(language) is not None else "keypad"
    count = prerender(current_app.extensions["prompt_catalogues"][language],
                      current_app.extensions["prompt_cache"], {"brand": current_app.config["HOTLINE_BRAND"]}, input_mode)
    click.echo(f"{count} {language} prompts rendered into {current_app.extensions['prompt_cache'].folder}")
