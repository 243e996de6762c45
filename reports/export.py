"""Reports as files: CSV (section,item,value rows), XLSX (one sheet per section), HTML (tables
and a server-rendered SVG chart of calls by hour; no script, no CDN)."""
from __future__ import annotations

import csv
import io
import json

from jinja2 import Environment, PackageLoader, select_autoescape

FORMATS = ("csv", "xlsx", "html")
_templates = Environment(loader=PackageLoader("reports"), autoescape=select_autoescape())


def rows(report: dict) -> list[tuple[str, str, object]]:
    """Flatten a report to (section, item, value); lists and mappings become JSON."""
    flat = [("report", "period", report["period"])] + [("report", k, v) for k, v in report["scope"].items()]
    for section in ("calls", "tickets", "satisfaction", "hot_spots"):
        for item, value in report[section].items():
            if item == "by_hour":
                flat += [(section, f"hour_{hour:02d}", count) for hour, count in enumerate(value)]
            elif isinstance(value, (dict, list)):
                flat.append((section, item, json.dumps(value, ensure_ascii=False)))
            else:
                flat.append((section, item, "" if value is None else value))
    return flat


# A spreadsheet runs a cell that starts with one of these as a formula: text from filters,
# parcels or callers must never (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value: object) -> object:
    """Text a spreadsheet would run as a formula, behind a ' that makes it text; numbers
    (negative ones too) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(report: dict) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "item", "value"])
    writer.writerows([inert(cell) for cell in row] for row in rows(report))
    return buffer.getvalue().encode("utf-8-sig")  # the BOM lets Excel read the Chinese


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for section in ("report", "calls", "tickets", "satisfaction", "hot_spots"):
        sheet = workbook.create_sheet(section)
        sheet.append(["item", "value"])
        for row_section, item, value in rows(report):
            if row_section == section:
                sheet.append([item, value])
                for cell in sheet[sheet.max_row]:
                    if cell.data_type == "f":  # openpyxl writes text starting with = as a formula
                        cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_html(report: dict) -> bytes:
    hours = report["calls"]["by_hour"]
    peak = max(hours) or 1
    bars = [{"hour": hour, "count": count, "height": round(120 * count / peak)} for hour, count in enumerate(hours)]
    return _templates.get_template("report.html").render(report=report, bars=bars).encode("utf-8")


def export(report: dict, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    return {"csv": to_csv, "xlsx": to_xlsx, "html": to_html}[fmt](report)


MIMETYPES = {"csv": "text/csv", "html": "text/html",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
