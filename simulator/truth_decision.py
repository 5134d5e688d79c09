"""The ground truth of the decision layer (spec v2) over the tables :mod:`simulator.truth`
computes: which periods are complete.

Readings:

1. The as-of time is the APIs' clock at the last successful sync, as their ``Date`` header
   shows it: whole seconds. The simulator's three APIs share one clock, and every source is
   synced at the same simulated instant, so the earliest across sources is that instant.
2. A week is complete when ``week_start + 7 days <= as_of``; a month when the first day of
   the next month ``<= as_of`` (a period ending exactly at the as-of time is complete).
   Without an as-of time (no successful sync) nothing is complete.
3. An incomplete scorecard row keeps its value and previous value; its ``change_pct`` is
   NULL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from simulator.truth import Record, month_end

WEEKLY_TABLES = ("kpi_delivery_weekly", "kpi_incidents_weekly", "mart_capacity_allocation")
MONTHLY_TABLES = ("kpi_support_monthly", "kpi_cost_to_serve_monthly", "kpi_scorecard")


def as_of_from_clock(now: datetime) -> datetime:
    """The as-of time a sync at ``now`` records: the Date header has whole seconds."""
    return now.astimezone(UTC).replace(microsecond=0)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def week_is_complete(week_start: date, as_of: datetime | None) -> bool:
    return as_of is not None and _midnight(week_start) + timedelta(days=7) <= as_of


def month_is_complete(month_start: date, as_of: datetime | None) -> bool:
    return as_of is not None and month_end(month_start) <= as_of


def with_completeness(tables: dict[str, list[Record]], as_of: datetime | None) -> None:
    """Add ``is_complete`` to every weekly and monthly row; an incomplete scorecard month
    loses its ``change_pct``."""
    for name in WEEKLY_TABLES:
        for r in tables[name]:
            r["is_complete"] = week_is_complete(r["week_start"], as_of)
    for name in MONTHLY_TABLES:
        for r in tables[name]:
            r["is_complete"] = month_is_complete(r["month_start"], as_of)
    for r in tables["kpi_scorecard"]:
        if not r["is_complete"]:
            r["change_pct"] = None
