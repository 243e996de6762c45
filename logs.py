"""Logging: one JSON object per line, and phone and waybill numbers masked in every message,
as a safety net under the code's own masking."""
from __future__ import annotations

import json
import logging
import re

from masking import mask_phone, mask_waybill

# Mainland mobile numbers (optionally +86), and waybills of the formats tracking knows.
PHONE = re.compile(r"(?<![\dA-Za-z])(?:\+?86)?1[3-9]\d{9}(?!\d)")
WAYBILL = re.compile(r"(?<![\dA-Za-z])(?:SF\d{12,13}|YT\d{13}|JD\d{13}|JT\d{13}|[A-Z]{2}\d{9}CN|7\d{11,13}|"
                     r"(?:31|43|46)\d{11})(?![\dA-Za-z])")


def mask_text(text: str) -> str:
    return WAYBILL.sub(lambda m: mask_waybill(m.group()), PHONE.sub(lambda m: mask_phone(m.group()), text))


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = ()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["error"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())
    handler.setFormatter(JsonFormatter() if json_lines else
                         logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
