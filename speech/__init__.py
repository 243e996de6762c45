"""Speech: Vosk models and recognition, spoken-number normalisation, waybill ranking, TTS."""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def init_app(app) -> None:
    """Load the hotline language's model at start-up (once per process) and say what is missing."""
    from speech.cli import speech_cli
    from speech.models import ModelPool
    from speech.numbers import grammar_words

    language = app.config["HOTLINE_LANGUAGE"]
    app.cli.add_command(speech_cli)
    if not app.config.get("LOAD_SPEECH_MODELS", True):  # e.g. the RQ worker: it never listens
        app.extensions["speech_models"] = ModelPool({}, {})
        return
    pool = ModelPool.load([language], app.instance_path)
    missing = pool.missing_words(language, grammar_words(language, "waybill"))
    if missing:
        log.warning("the %s model lacks grammar words %s: they cannot be recognised", language, ", ".join(missing))
    app.extensions["speech_models"] = pool
