"""Fetching official models: download, SHA-256, safe unpacking (from a local server here)."""
from __future__ import annotations

import hashlib
import http.server
import io
import stat
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest

from speech.models import CATALOGUE, ModelError, fetch_model, is_model_dir, model_path


def model_zip(root="vosk-model-small-en-us-0.15", extra=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{root}/am/final.mdl", b"acoustic model")
        archive.writestr(f"{root}/conf/model.conf", b"--beam=10")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def served(tmp_path):
    """A local HTTP server for files in tmp_path/www: (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", folder
    server.shutdown()
    server.server_close()


def test_fetch_verifies_and_unpacks(served, tmp_path):
    base, folder = served
    data = model_zip()
    (folder / "m.zip").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    path = fetch_model("en-US", str(tmp_path / "instance"), sha256=digest, url=f"{base}/m.zip")
    assert is_model_dir(path) and path.name == "vosk-model-small-en-us-0.15"
    assert model_path("en-US", str(tmp_path / "instance"), environ={}) == path


def test_a_wrong_checksum_installs_nothing(served, tmp_path):
    base, folder = served
    (folder / "m.zip").write_bytes(model_zip())
    with pytest.raises(ModelError, match="SHA-256 .* is not the expected"):
        fetch_model("en-US", str(tmp_path / "instance"), sha256="0" * 64, url=f"{base}/m.zip")
    assert model_path("en-US", str(tmp_path / "instance"), environ={}) is None


def test_unsafe_paths_and_non_models_are_refused(served, tmp_path):
    base, folder = served
    evil = model_zip(extra={"../../escape.txt": b"x"})
    (folder / "evil.zip").write_bytes(evil)
    with pytest.raises(ModelError, match="refused, the archive holds a path outside the model's folder"):
        fetch_model("en-US", str(tmp_path / "i"), sha256=hashlib.sha256(evil).hexdigest(), url=f"{base}/evil.zip")
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").writestr("readme.txt", "nothing")
    (folder / "empty.zip").write_bytes(empty.getvalue())
    with pytest.raises(ModelError, match="holds no Vosk model"):
        fetch_model("en-US", str(tmp_path / "i"), sha256=hashlib.sha256(empty.getvalue()).hexdigest(),
                    url=f"{base}/empty.zip")


def link_zip(kind: int, target: str = "/etc/passwd") -> bytes:
    """A model archive with one entry of Unix file type `kind` (a symbolic link, a FIFO)."""
    buffer = io.BytesIO(model_zip())
    with zipfile.ZipFile(buffer, "a") as archive:
        link = zipfile.ZipInfo("vosk-model-small-en-us-0.15/conf/mfcc.conf")
        link.external_attr = (kind | 0o777) << 16
        archive.writestr(link, target)
    return buffer.getvalue()


def damaged_zip() -> bytes:
    """A model archive whose first entry's compressed data is garbled (its CRC is not reached)."""
    name = "vosk-model-small-en-us-0.15/am/final.mdl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, b"acoustic model " * 2000)
        archive.writestr("vosk-model-small-en-us-0.15/conf/model.conf", b"--beam=10")
    data = bytearray(buffer.getvalue())
    start = 30 + len(name)  # the local file header, then the data
    data[start:start + 40] = bytes(byte ^ 0xFF for byte in data[start:start + 40])
    return bytes(data)


@pytest.mark.parametrize(("archive", "problem"), [
    (link_zip(stat.S_IFLNK), "a symbolic link"),
    (link_zip(stat.S_IFIFO, ""), "a special file"),
    (model_zip(extra={"/etc/cron.d/model": b"x"}), "a path outside the model's folder"),
    (model_zip(extra={"vosk-model-small-en-us-0.15/..\\..\\x": b"x"}), "a path outside the model's folder"),
    (damaged_zip(), "cannot unpack the archive"),
])
def test_fetch_models_refuses_unsafe_archives_and_leaves_nothing(runner, served, app, archive, problem):
    base, folder = served
    (folder / "m.zip").write_bytes(archive)
    result = runner.invoke(args=["speech", "fetch-models", "en-US", "--url", f"{base}/m.zip",
                                 "--sha256", hashlib.sha256(archive).hexdigest()])
    assert result.exit_code == 1 and problem in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert list((Path(app.instance_path) / "models").iterdir()) == []


def test_every_official_model_has_a_pinned_digest():
    assert all(len(entry["sha256"]) == 64 for entry in CATALOGUE.values())
    assert CATALOGUE["zh-CN"]["sha256"].startswith("3af8b0e7")


def test_no_pinned_digest_and_unreachable_site(tmp_path, monkeypatch):
    monkeypatch.setitem(CATALOGUE, "xx-XX", {"name": "vosk-model-xx", "url": "http://127.0.0.1:9/xx.zip"})
    with pytest.raises(ModelError, match="no SHA-256 is pinned"):
        fetch_model("xx-XX", str(tmp_path))
    with pytest.raises(ModelError, match="cannot download"):
        fetch_model("en-US", str(tmp_path), url="http://127.0.0.1:9/none.zip")
    with pytest.raises(ModelError, match="no official model"):
        fetch_model("fr-FR", str(tmp_path))


def test_environment_variable_points_at_another_copy(tmp_path):
    copy = tmp_path / "my-model"
    (copy / "am").mkdir(parents=True)
    (copy / "conf").mkdir()
    (copy / "am" / "final.mdl").write_bytes(b"x")
    (copy / "conf" / "model.conf").write_text("x")
    assert model_path("zh-CN", str(tmp_path), environ={"VOSK_MODEL_PATH_ZH_CN": str(copy)}) == copy


def test_speech_commands(runner, served, tmp_path):
    result = runner.invoke(args=["speech", "models"])
    assert result.exit_code == 0 and "zh-CN: none (keypad only" in result.output
    base, folder = served
    (folder / "m.zip").write_bytes(model_zip())
    result = runner.invoke(args=["speech", "fetch-models", "en-US", "--url", f"{base}/m.zip"])
    assert result.exit_code == 1 and "SHA-256" in result.output
    result = runner.invoke(args=["speech", "fetch-models", "zh-CN", "--url", f"{base}/m.zip"])
    assert result.exit_code == 1 and "is not the expected 3af8b0e7" in result.output   # the pinned digest


def test_render_prompts_command(make_app):
    app = make_app(HOTLINE_LANGUAGE="en-US")
    result = app.test_cli_runner().invoke(args=["speech", "render-prompts"])
    assert result.exit_code == 0, result.output
    count = int(result.output.split()[0])
    assert count >= 20  # greeting, menus and the other fixed prompts; not the parcel-specific ones
    assert len(list(app.extensions["prompt_cache"].folder.glob("*.ulaw"))) == count


def test_a_keypad_only_line_renders_no_prompts_at_start(make_app):
    """Keypad calls are answered with TwiML, never with rendered audio: `python app.py` on a
    line without a recogniser renders nothing (rendering every prompt took ~100 s)."""
    import threading

    from app import _prepare

    app = make_app(SEED_DEMO_ON_FIRST_RUN=False)
    assert app.extensions["speech_models"].get(app.config["HOTLINE_LANGUAGE"]) is None
    _prepare(app)
    assert "prerender" not in [thread.name for thread in threading.enumerate()]
    folder = app.extensions["prompt_cache"].folder
    assert not folder.exists() or not list(folder.glob("*.ulaw"))
