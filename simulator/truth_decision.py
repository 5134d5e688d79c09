"""The ground truth of the decision layer (spec v2) over the tables :mod:`simulator.truth`
computes: which periods are complete, and support load per ticket theme.

Readings:

1. The as-of time is the APIs' clock at the last successful sync, as their ``Date`` header
   shows it: whole seconds. The simulator's three APIs share one clock, and every source is
   synced at the same simulated instant, so the earliest across sources is that instant.
2. A week is complete when ``week_start + 7 days <= as_of``; a month when the first day of
   the next month ``<= as_of`` (a period ending exactly at the as-of time is complete).
   Without an as-of time (no successful sync) nothing is complete.
3. An incomplete scorecard row keeps its value and previous value; its ``change_pct`` is
   NULL.
4. A ticket belongs to every theme one of whose tags it carries as of now (exact,
   case-sensitive match, as for trust tickets); deleted tickets count in no theme. The
   themes table is dense over the monthly range and every catalog theme.
5. The scorecard's theme KPI ``<theme>_tickets_per_1k_customers`` is the theme's monthly
   rate, with n its tickets; previous value and change as for every scorecard KPI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from simulator.truth import (
    Record,
    active_customers,
    change_pct,
    month_end,
    month_start,
    tickets_per_1k,
)
from simulator.truth import is_trust as carries_any

WEEKLY_TABLES = ("kpi_delivery_weekly", "kpi_incidents_weekly", "mart_capacity_allocation")
MONTHLY_TABLES = (
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_cost_to_serve_monthly",
    "kpi_scorecard",
)


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


def kpi_support_themes_monthly(
    tickets: list[Record],
    organizations: list[Record],
    months: list[date],
    themes: dict[str, tuple[str, ...]],
) -> list[Record]:
    """Per month and theme: live tickets created in the month carrying a theme tag, and
    their rate per 1,000 active customers. ``tickets``: records with ``tags``."""
    live = [t for t in tickets if t["status"] != "deleted"]
    rows = []
    for m in months:
        of_month = [t for t in live if month_start(t["created_at"]) == m]
        customers = active_customers(organizations, m)
        for theme, tags in themes.items():
            n = sum(1 for t in of_month if carries_any(t["tags"], tags))
            rows.append(
                {
                    "month_start": m,
                    "theme": theme,
                    "tickets": n,
                    "active_customers": customers,
                    "tickets_per_1k_customers": tickets_per_1k(n, customers),
                }
            )
    return rows


def theme_scorecard(themes_monthly: list[Record]) -> list[Record]:
    """The scorecard rows of ``<theme>_tickets_per_1k_customers``, month by month."""
    rows = []
    previous: dict[str, float | None] = {}
    for r in sorted(themes_monthly, key=lambda r: r["month_start"]):
        kpi = f"{r['theme']}_tickets_per_1k_customers"
        value, prev = r["tickets_per_1k_customers"], previous.get(kpi)
        rows.append(
            {
                "month_start": r["month_start"],
                "kpi": kpi,
                "value": value,
                "previous_value": prev,
                "change_pct": change_pct(value, prev),
                "n": r["tickets"],
            }
        )
        previous[kpi] = value
    return rows
