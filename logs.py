"""Logging: phone and waybill numbers masked in every record this process makes, as a safety
net under the code's own masking, and one JSON object per line when asked."""
from __future__ import annotations

import json
import logging
import re

from masking import mask_phone, mask_waybill

_SEPARATOR = r"[ -]?"
_NOT_AFTER = r"(?<![\dA-Za-z+])"  # a number starts here, not inside a longer word or number
_NOT_BEFORE = r"(?![\dA-Za-z])"
_COUNTRY = r"\+?86" + _SEPARATOR
# Mainland mobile numbers, optionally +86, written whole or as 138-1234-5678 / 138 1234 5678.
MOBILE = re.compile(_NOT_AFTER + f"(?:{_COUNTRY})?1[3-9]\\d{_SEPARATOR}\\d{{4}}{_SEPARATOR}\\d{{4}}" + _NOT_BEFORE)
# Landlines: an area code (010, 02x, 0xxx; without its 0 after +86, optionally in brackets),
# then 7 or 8 digits, whole or in two groups: 0571-88123456, 010 12345678, +86 21 5555 1234.
_AREA = r"(?:10|2\d|[3-9]\d\d)"
LANDLINE = re.compile(_NOT_AFTER + f"(?:{_COUNTRY}|\\(?0){_AREA}\\)?{_SEPARATOR}\\d{{3,4}}{_SEPARATOR}\\d{{4}}"
                      + _NOT_BEFORE)
# Waybills: the lettered formats tracking knows, and any 12 to 15 digits, which is how callers
# key every carrier's waybill (SF and YT ones without their letters). Shorter numbers (ticket
# numbers, counts, times) are left alone.
WAYBILL = re.compile(_NOT_AFTER + r"(?:SF\d{12,13}|YT\d{13}|JD\d{13}|JT\d{13}|[A-Z]{2}\d{9}CN|\d{12,15})"
                     + _NOT_BEFORE)


def mask_text(text: str) -> str:
    # Mobiles first: +86 138… would otherwise read as a landline's country code and digits.
    for pattern, mask in ((MOBILE, mask_phone), (LANDLINE, mask_phone), (WAYBILL, mask_waybill)):
        text = pattern.sub(lambda match, mask=mask: mask(match.group()), text)
    return text


_TRACEBACKS = logging.Formatter()


def mask_record(record: logging.LogRecord) -> None:
    """Mask the message, and the traceback as every logging.Formatter will print it (a
    formatter prints `exc_text` when it is set)."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit: logging reports it at emit
        return
    record.msg, record.args = mask_text(message), ()
    if record.exc_info:
        record.exc_text = mask_text(_TRACEBACKS.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)


def install_masking() -> None:
    """Mask every record as it is made, whichever logger and handler it then goes to:
    gunicorn's error and access logs, werkzeug's, RQ's and ours. A filter on handlers would
    miss the handlers added later (RQ adds its own when a worker starts). Idempotent."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "masks", False):
        return

    def make_masked_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        mask_record(record)
        return record

    make_masked_record.masks = True
    logging.setLogRecordFactory(make_masked_record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    install_masking()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_lines else
                         logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
