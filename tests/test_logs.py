"""Masking in logs: the patterns, every handler of every entry point, tracebacks, SQL errors."""
from __future__ import annotations

import io
import json
import logging

import pytest
from sqlalchemy import text

from database import make_engine
from logs import JsonFormatter, mask_text


@pytest.mark.parametrize(("said", "masked"), [
    ("call from +8613812345678", "call from 138****5678"),
    ("call from 138-1234-5678", "call from 138****5678"),
    ("call from 138 1234 5678.", "call from 138****5678."),
    ("call from +86 138 1234 5678", "call from 138****5678"),
    ("branch 0571-88123456", "branch 057*****3456"),
    ("branch 010 12345678", "branch 010****5678"),
    ("branch (021) 5555-1234", "branch 021****1234"),
    ("branch +86 21 5555 1234", "branch 862*****1234"),
    ("about SF1234567890123 and EE123456785CN", "about SF*********0123 and EE*******85CN"),
    ("keyed 1234567890123#", "keyed 12*******0123#"),        # SF digits without their letters
    ("keyed 75123456789012", "keyed 75********9012"),
])
def test_phones_and_waybills_are_masked_however_written(said, masked):
    assert mask_text(said) == masked


@pytest.mark.parametrize("plain", [
    "ticket 2611240001, 3 parcels", "at 2026-11-24 10:00:00, 08:30-18:00", "port 5000, pool 10 of 20",
    "call CA0123456789abcdef0123456789abcdef", "waited 12.5 s, position 3", "pickup P20261124001 at 0571",
    "order 123456789", "version 1.2.3",
])
def test_ordinary_numbers_are_left_alone(plain):
    assert mask_text(plain) == plain


def _captured(logger_name: str, formatter: logging.Formatter):
    """A handler of the kind gunicorn, werkzeug and RQ add for themselves, on `logger_name`."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    return logger, handler, stream


@pytest.mark.parametrize("logger_name", ["gunicorn.error", "gunicorn.access", "werkzeug", "rq.worker"])
def test_every_handler_after_the_app_factory_masks_messages_and_tracebacks(app, logger_name):
    logger, handler, stream = _captured(logger_name, logging.Formatter("%(levelname)s %(message)s"))
    try:
        try:
            raise LookupError("no parcel SF1234567890123 for 13812345678")
        except LookupError:
            logger.error("lookup for %s failed", "138 1234 5678", exc_info=True)
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "lookup for 138****5678 failed" in written
    assert "no parcel SF*********0123 for 138****5678" in written   # the traceback too
    assert "1234567890123" not in written and "5678901" not in written


def test_json_lines_mask_messages_and_tracebacks(app):
    logger, handler, stream = _captured("hotline.test", JsonFormatter())
    try:
        try:
            raise LookupError("caller 13900001111")
        except LookupError:
            logger.exception("caller %s", "13900001111")
    finally:
        logger.removeHandler(handler)
    entry = json.loads(stream.getvalue())
    assert entry["message"] == "caller 139****1111" and "13900001111" not in entry["error"]


def test_sql_errors_do_not_carry_their_parameters(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with engine.connect() as connection, pytest.raises(Exception) as raised:
        connection.execute(text("INSERT INTO missing (phone) VALUES (:phone)"), {"phone": "13812345678"})
    assert "INSERT INTO missing" in str(raised.value) and "13812345678" not in str(raised.value)
