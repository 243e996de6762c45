"""Where each language's Vosk model is installed, if anywhere (nothing is loaded here)."""
from __future__ import annotations

import os
from pathlib import Path

MODEL_NAMES = {"zh-CN": "vosk-model-small-cn-0.22", "en-US": "vosk-model-small-en-us-0.15"}


def env_name(language: str) -> str:
    return "VOSK_MODEL_PATH_" + language.replace("-", "_").upper()


def model_path(language: str, instance_path: str, environ=os.environ) -> Path | None:
    configured = environ.get(env_name(language))
    candidates = [Path(configured)] if configured else []
    if language in MODEL_NAMES:
        candidates.append(Path(instance_path) / "models" / MODEL_NAMES[language])
    return next((path for path in candidates if (path / "am").is_dir() or (path / "conf").is_dir()), None)


def model_status(languages, instance_path: str) -> dict[str, dict]:
    """Per language: the model found, and the input the hotline takes (keypad until speech is wired)."""
    return {
        language: {"model": str(path) if (path := model_path(language, instance_path)) else None,
                   "input": "keypad"}
        for language in languages
    }
