"""The ground truth of the bets ledger (``mart_platform_bets``), read from the weekly and
monthly tables the other modules of :mod:`simulator.truth` compute.

Readings:

1. A bet's period is its KPI's: ISO weeks for delivery, incident and capacity KPIs (the bet's
   team row, ``all`` for an org-wide bet), calendar months for the others (the scorecard).
2. Window bounds are period starts. The baseline is the ``baseline_periods`` periods before
   the period containing ``shipped_on``, the evaluation the ``evaluation_periods`` periods
   after it.
3. A period counts on its side when its row exists, its value is not None and it is complete
   (a period in progress would read as a drop). A capacity share of a week where the team
   had effort but none in the category is 0; without effort the week has no share.
4. The verdict's evaluation window is complete when its last period is, by the as-of time,
   whether or not the marts hold that period yet.
5. ``first_period_with_data``: the earliest period with a value of the KPI for the team.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

from platform_kpis.catalog import Bet, Catalog
from platform_kpis.kpis import SCORECARD_KPIS, weekly_mart
from simulator.truth.as_of import month_is_complete, week_is_complete
from simulator.truth.common import ALL, CATEGORIES, Record
from simulator.truth.scorecard import change_pct


def weekly_values(tables: dict[str, list[Record]]) -> dict[tuple[str, str, date], Record]:
    """(kpi, team, week_start) -> {value, is_complete} from the weekly tables."""
    out: dict[tuple[str, str, date], Record] = {}
    for table in ("kpi_delivery_weekly", "kpi_incidents_weekly"):
        kpis = [kpi for kpi in SCORECARD_KPIS if weekly_mart(kpi) == table]
        for r in tables[table]:
            for kpi in kpis:
                out[(kpi, r["team"], r["week_start"])] = {
                    "value": r[kpi],
                    "is_complete": r["is_complete"],
                }
    shares: dict[tuple[str, date], dict[str, float]] = defaultdict(dict)
    complete: dict[tuple[str, date], bool] = {}
    for r in tables["mart_capacity_allocation"]:
        shares[(r["team"], r["week_start"])][r["category"]] = r["share"]
        complete[(r["team"], r["week_start"])] = r["is_complete"]
    for (team, week), by_category in shares.items():
        for c in CATEGORIES:
            out[(f"{c}_share", team, week)] = {
                "value": by_category.get(c, 0.0),
                "is_complete": complete[(team, week)],
            }
    return out


def monthly_values(tables: dict[str, list[Record]]) -> dict[tuple[str, str, date], Record]:
    return {
        (r["kpi"], ALL, r["month_start"]): {"value": r["value"], "is_complete": r["is_complete"]}
        for r in tables["kpi_scorecard"]
    }


def shift(start: date, periods: int, period: str) -> date:
    if period == "week":
        return start + timedelta(weeks=periods)
    months = start.year * 12 + start.month - 1 + periods
    return date(months // 12, months % 12 + 1, 1)


def period_of(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def verdict(bet: Bet, evaluated: bool, n_b: int, n_a: int, change, se) -> str:
    if not evaluated:
        return "in_progress"
    if n_b < 3 or n_a < 3:
        return "insufficient_data"
    if abs(change) <= 2 * se:
        return "inconclusive"
    better = change < 0 if bet.direction == "down" else change > 0
    return "improved" if better else "worsened"


def bet_row(bet: Bet, values: dict[tuple[str, str, date], Record], as_of: datetime | None):
    period, team = bet.period, bet.team or ALL
    ship = period_of(bet.shipped_on, period)
    baseline = [shift(ship, -k, period) for k in range(bet.baseline_periods, 0, -1)]
    evaluation = [shift(ship, k, period) for k in range(1, bet.evaluation_periods + 1)]

    def side(periods: list[date]) -> list[float]:
        cells = [values.get((bet.kpi, team, p)) for p in periods]
        return [c["value"] for c in cells if c and c["value"] is not None and c["is_complete"]]

    before, after = side(baseline), side(evaluation)
    b = statistics.fmean(before) if before else None
    a = statistics.fmean(after) if after else None
    change = a - b if a is not None and b is not None else None
    se = None
    if len(before) >= 2 and len(after) >= 2:
        se = math.sqrt(
            statistics.variance(before) / len(before) + statistics.variance(after) / len(after)
        )
    is_complete = week_is_complete if period == "week" else month_is_complete
    with_data = [
        p
        for (kpi, t, p), c in values.items()
        if kpi == bet.kpi and t == team and c["value"] is not None
    ]
    return {
        "bet_id": bet.id,
        "team": team,
        "kpi": bet.kpi,
        "direction": bet.direction,
        "shipped_on": bet.shipped_on,
        "baseline_start": baseline[0],
        "baseline_end": baseline[-1],
        "evaluation_start": evaluation[0],
        "evaluation_end": evaluation[-1],
        "before_value": b,
        "after_value": a,
        "change": change,
        "change_pct": change_pct(a, b),
        "n_before": len(before),
        "n_after": len(after),
        "standard_error": se,
        "verdict": verdict(
            bet, is_complete(evaluation[-1], as_of), len(before), len(after), change, se
        ),
        "constraint_text": bet.constraint,
        "bet_text": bet.bet,
        "first_period_with_data": min(with_data) if with_data else None,
    }


def mart_platform_bets(
    catalog: Catalog, tables: dict[str, list[Record]], as_of: datetime | None
) -> list[Record]:
    """One row per catalog bet; ``tables`` already carry ``is_complete``."""
    weekly, monthly = weekly_values(tables), monthly_values(tables)
    return [
        bet_row(bet, weekly if bet.period == "week" else monthly, as_of) for bet in catalog.bets
    ]
