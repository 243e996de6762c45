"""What every benchmark shares: percentiles, and printing its figures (JSON or lines)."""
from __future__ import annotations

import json


def percentile(values, share: float) -> float:
    """The nearest-rank value at `share` (0.99 for p99) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def print_figures(figures: dict, as_json: bool) -> None:
    print(json.dumps(figures, ensure_ascii=False) if as_json else
          "\n".join(f"{key}: {value}" for key, value in figures.items()))


METHOD_HEADING = 'Method (printed with the figures as "method"):'


def method(doc: str) -> str:
    """A bench's method, in one line: its docstring's paragraph after METHOD_HEADING."""
    return " ".join(doc.split(METHOD_HEADING)[1].split())
