"""Importing data files (parcels, survey contacts, tariffs, branches): the shared rules.

CSV columns are found by header name, in any order, extra ones ignored; JSON is a list of
objects or {"<kind>": [...]}. A malformed row is reported with its line and reason and the
rest are imported; a file that cannot be read at all raises ImportFileError before anything
is written.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing was imported."""


class RowError(ValueError):
    pass


@dataclass
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def read_records(path: Path, required: tuple[str, ...], json_key: str) -> list[tuple[int, dict]]:
    """(line or item number, record) pairs; ImportFileError if the file is unreadable."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ImportFileError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        return _json_records(path, text, json_key)
    return _csv_records(path, text, required)


def _json_records(path: Path, text: str, json_key: str) -> list[tuple[int, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from None
    items = data.get(json_key) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ImportFileError(f"{path}: expected a list of {json_key} or {{\"{json_key}\": [...]}}")
    return [(number, item if isinstance(item, dict) else {"_invalid": item})
            for number, item in enumerate(items, start=1)]


def _csv_records(path: Path, text: str, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in required if name not in header]
        if missing:
            raise ImportFileError(f"{path}: header lacks column(s) {', '.join(missing)}")
        reader.fieldnames = header
        # more cells than header names: not a record
        return [(reader.line_num, {"_invalid": "too many cells"} if None in row else row) for row in reader]
    except csv.Error as error:  # e.g. a field over csv.field_size_limit(): the rest cannot be read
        # line_num is the last line read whole; the record that failed starts on the next
        raise ImportFileError(f"{path}:{reader.line_num + 1}: not readable as CSV: {error}") from None


# The most characters an imported field may hold: as long as the column it goes into (most text
# columns hold 64), more for lists written in one cell. Longer is the row's error, never stored.
FIELD_LIMITS = {"address": 200, "description": 200, "warehouse_note": 200, "postcodes": 500, "pickup_points": 2000}
DEFAULT_FIELD_LIMIT = 64


def bounded(key: str, value: object) -> str:
    """An imported field's text, stripped; RowError if it is longer than its limit."""
    text = "" if value is None else str(value).strip()
    limit = FIELD_LIMITS.get(key, DEFAULT_FIELD_LIMIT)
    if len(text) > limit:
        raise RowError(f"{key} is {len(text):,} characters; at most {limit}")
    return text


def text_of(record: dict, key: str) -> str:
    return bounded(key, record.get(key))


def require(record: dict, required: tuple[str, ...]) -> None:
    if "_invalid" in record:
        raise RowError(f"not a record: {record['_invalid']!r}")
    missing = [key for key in required if not text_of(record, key)]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")


def import_each(records: list[tuple[int, dict]], store: Callable[[dict], bool]) -> ImportReport:
    """Store each record (store returns True when it created one, False when it updated one);
    a RowError from it is the row's problem."""
    report = ImportReport()
    for line, record in records:
        try:
            created = store(record)
        except RowError as error:
            report.problems.append(RowProblem(line, str(error)))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


def report_import(file: Path, load: Callable[[], ImportReport]) -> None:
    """Run an import for a CLI command: problems listed by line, a summary, exit 1 on problems."""
    try:
        report = load()
    except ImportFileError as error:
        raise click.ClickException(f"{error}; nothing imported") from None
    for problem in report.problems:
        click.echo(f"{file}:{problem.line}: {problem.reason}", err=True)
    click.echo(f"{report.created} created, {report.updated} updated, {len(report.problems)} rejected")
    if report.problems:
        raise SystemExit(1)
