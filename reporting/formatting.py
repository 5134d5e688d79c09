"""How the report writes a number. One rule per kind of figure, chosen from the KPI's name
(the contract's suffixes: ``_hours``, ``_rate``, ``_share``, ``_per_1k_customers``, cost), so a
theme's KPI or a new one formats like its siblings. Rates and shares show as percentages of
one decimal; a change of a rate shows in points, a relative change as a signed percentage."""

from __future__ import annotations

import datetime as dt
import math

NONE = "–"  # no value: a period without events, or a denominator of 0


def kind(kpi: str) -> str:
    if kpi.endswith(("_rate", "_share")):
        return "percent"
    if kpi.endswith("_hours"):
        return "hours"
    if kpi.endswith("_per_1k_customers"):
        return "per1k"
    if "cost" in kpi:
        return "money"
    return "count"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | None, decimals: int, sign: bool = False) -> str:
    if _missing(value):
        return NONE
    text = f"{value:{'+' if sign else ''},.{decimals}f}"
    # "-0.0" reads as a fall that did not happen.
    return text.replace("-", "", 1) if float(text.replace(",", "")) == 0 else text


def value(kpi: str, x: float | None, sign: bool = False) -> str:
    """A KPI's value with its unit: ``12.3 h``, ``4.5%``, ``38.2``, ``1,234.56``, ``17``."""
    k = kind(kpi)
    if _missing(x):
        return NONE
    if k == "percent":
        return number(x * 100, 1, sign) + "%"
    if k == "hours":
        return number(x, 1, sign) + " h"
    if k == "per1k":
        return number(x, 1, sign)
    if k == "money":
        return number(x, 2, sign)
    return number(x, 0 if float(x).is_integer() else 1, sign)


def change(kpi: str, x: float | None) -> str:
    """An absolute change of a KPI: rates in points (``-3.2 pts``), others in their unit."""
    if _missing(x):
        return NONE
    if kind(kpi) == "percent":
        return number(x * 100, 1, sign=True) + " pts"
    return value(kpi, x, sign=True)


def pct(x: float | None, sign: bool = True) -> str:
    """An already-relative percentage (``change_pct``)."""
    return NONE if _missing(x) else number(x, 1, sign) + "%"


def share(x: float | None) -> str:
    return NONE if _missing(x) else number(x * 100, 1) + "%"


def points(x: float | None) -> str:
    return NONE if _missing(x) else number(x, 1, sign=True) + " pts"


def count(x: int | None) -> str:
    return NONE if _missing(x) else f"{int(x):,}"


def when(x: dt.datetime | dt.date | None) -> str:
    if x is None:
        return NONE
    if isinstance(x, dt.datetime):
        return x.strftime("%Y-%m-%d %H:%M UTC")
    return x.isoformat()


def age(x: dt.datetime | None, now: dt.datetime) -> str:
    """How long ago, in the largest unit that reads well (``3 h``, ``2 d``)."""
    if x is None:
        return NONE
    seconds = max((now - x).total_seconds(), 0)
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def seconds(x: float | None) -> str:
    return NONE if _missing(x) else f"{x:,.1f} s"


def month(x: dt.date) -> str:
    return x.strftime("%B %Y")
