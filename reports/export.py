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


# A chart's drawing area inside its viewBox: room on the left for the y-axis' numbers and below
# for the bars' labels, so none is clipped; the SVG scales to the page's width.
CHART = {"left": 44, "top": 12, "height": 140, "bottom": 34}
# Drawn at this many px per viewBox unit where the page is wide enough, smaller where it is not.
CHART_SCALE = 1.5


def bar_chart(points: list[tuple[str, int]], bar_space: int = 28, label_every: int = 1) -> dict:
    """Bars, y-axis ticks (whole numbers, 0 to a round top) and the viewBox for a chart of counts;
    `bar_space` (viewBox units) fits the longest label under its bar. On a narrow page only every
    `label_every`th bar keeps its label (the others are `minor`), in larger type."""
    peak = max((count for _, count in points), default=0)
    step = max(1, -(-peak // 4))
    top = step * 4
    width = CHART["left"] + bar_space * len(points) + 8
    base = CHART["top"] + CHART["height"]
    bars = [{"label": label, "count": count, "x": CHART["left"] + 4 + i * bar_space, "minor": i % label_every != 0,
             "height": round(CHART["height"] * count / top), "y": base - round(CHART["height"] * count / top)}
            for i, (label, count) in enumerate(points)]
    ticks = [{"value": step * n, "y": base - round(CHART["height"] * n / 4)} for n in range(5)]
    return {"bars": bars, "ticks": ticks, "width": width, "height": base + CHART["bottom"], "left": CHART["left"],
            "base": base, "bar_width": bar_space - 6, "shown_width": round(width * CHART_SCALE),
            "dense": label_every > 1}


def percentage(value: object) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# The figures that are ratios (0 to 1): shown as percentages.
RATIOS = ("contained_in_ivr", "first_response_in_time", "closed_in_time", "callback_rate")


def to_html(report: dict, words: dict | None = None) -> bytes:
    """The report as a page, in `words` (console.words.REPORT_WORDS; Chinese by default)."""
    if words is None:
        from console.words import DEFAULT_LANGUAGE, REPORT_WORDS

        words = REPORT_WORDS[DEFAULT_LANGUAGE]
    calls = report["calls"]
    hours = calls["by_hour"]
    charts = [("calls-by-hour", words["by_hour"], bar_chart([(str(h), n) for h, n in enumerate(hours)], label_every=3))]
    if "by_day" in calls:  # as wide as the hours' chart, so both are drawn at one scale (one type size)
        days = calls["by_day"]
        charts.append(("calls-by-day", words["by_day"], bar_chart([(day[5:], n) for day, n in days.items()],
                                                                   bar_space=28 * len(hours) // len(days))))
    return _templates.get_template("report.html").render(
        report=report, charts=charts, words=words, ratios=RATIOS, percentage=percentage,
        charted=("by_hour", "by_day")).encode("utf-8")


def export(report: dict, fmt: str, words: dict | None = None) -> bytes:
    """The report in a format; `words` for the HTML page's labels."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    if fmt == "html":
        return to_html(report, words)
    return {"csv": to_csv, "xlsx": to_xlsx}[fmt](report)


MIMETYPES = {"csv": "text/csv", "html": "text/html",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
