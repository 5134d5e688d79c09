"""The scorecard's KPIs: their names, and the period each one is measured over.

The one list of scorecard KPIs the Python side shares (catalog validation, the ground truth).
A KPI with a team-level weekly mart (delivery, incidents, capacity shares) is measured per
week and per team; support and cost KPIs exist only org-wide, per month.
"""

from __future__ import annotations

from collections.abc import Iterable

# KPI -> the weekly mart that holds it per team (None: monthly, org-wide only).
_KPI_WEEKLY_MART: dict[str, str | None] = {
    "lead_time_p50_hours": "kpi_delivery_weekly",
    "lead_time_p95_hours": "kpi_delivery_weekly",
    "deployments": "kpi_delivery_weekly",
    "rollback_rate": "kpi_delivery_weekly",
    "change_failure_rate": "kpi_delivery_weekly",
    "incidents": "kpi_incidents_weekly",
    "mttr_hours": "kpi_incidents_weekly",
    "tickets_per_1k_customers": None,
    "cost_per_customer": None,
    "ops_cost_per_customer": None,
    "roadmap_share": "mart_capacity_allocation",
    "platform_share": "mart_capacity_allocation",
    "unplanned_share": "mart_capacity_allocation",
}
SCORECARD_KPIS: tuple[str, ...] = tuple(_KPI_WEEKLY_MART)
THEME_KPI_SUFFIX = "_tickets_per_1k_customers"

WEEK = "week"
MONTH = "month"


def theme_kpi(theme: str) -> str:
    return f"{theme}{THEME_KPI_SUFFIX}"


def scorecard_kpis(themes: Iterable[str]) -> tuple[str, ...]:
    """Every scorecard KPI: the fixed ones, then one per ticket theme."""
    return SCORECARD_KPIS + tuple(theme_kpi(t) for t in themes)


def weekly_mart(kpi: str) -> str | None:
    """The team-level weekly mart of a KPI; None for a monthly (org-wide) KPI."""
    return _KPI_WEEKLY_MART.get(kpi)


def kpi_period(kpi: str) -> str:
    """'week' for a KPI with a team-level weekly mart, else 'month'."""
    return WEEK if weekly_mart(kpi) else MONTH
