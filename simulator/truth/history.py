"""The ground truth of restatements (spec v2, publication history), from scorecards the truth
computes at successive publications.

Readings:

1. A (month, KPI) counts from its first publication only, and only when that publication
   showed the month complete; a month first published in progress is never restated.
2. It is restated when the latest scorecard's value differs from the first one: NULL against
   a value counts, two floats differ when more than 1e-9 apart; a (month, KPI) missing from
   the latest scorecard has the current value NULL.
3. ``change`` is current - first, NULL when either is NULL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from simulator.truth.common import Record

TOLERANCE = 1e-9


def kpi_restatements(
    publications: Sequence[tuple[datetime, list[Record]]], current: list[Record]
) -> list[Record]:
    """``publications``: (published_at, scorecard rows) in publication order; ``current``:
    the scorecard being published now."""
    first: dict[tuple, tuple[datetime, Record]] = {}
    for published_at, rows in publications:
        for row in rows:
            first.setdefault((row["month_start"], row["kpi"]), (published_at, row))
    now = {(r["month_start"], r["kpi"]): r["value"] for r in current}
    out = []
    for key, (published_at, row) in sorted(first.items()):
        if not row["is_complete"]:
            continue
        was, is_ = row["value"], now.get(key)
        if was is None and is_ is None:
            continue
        if was is not None and is_ is not None and abs(is_ - was) <= TOLERANCE:
            continue
        out.append(
            {
                "month_start": key[0],
                "kpi": key[1],
                "first_published_at": published_at,
                "first_value": was,
                "current_value": is_,
                "change": None if was is None or is_ is None else is_ - was,
            }
        )
    return out
