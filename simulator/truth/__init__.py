"""The KPI ground truth: every published mart table, computed in plain Python from the
simulator's own generated model (its events), as of ``now``.

It shares no code with the extractors or the dbt SQL and never reads the API renderings.
The rules follow ``docs/kpis.md``; each KPI rule is one small function named after
it, over plain records (dicts), so tests can feed hand-made inputs. A thin adapter
(:func:`records_from_models`) turns the simulator's models into those records, applying
"as of now": only events at or before ``now`` exist.

Where the rules leave a choice, it makes the numbered readings of ``docs/kpis.md``.

One module per folder of ``dbt_project/models/marts/`` (delivery, incidents, support, cost,
capacity, scorecard, bets), so a mart and its truth are found under the same name; ``common``
holds the helpers several domains share and ``as_of`` the complete periods and the adapter.
This package assembles the tables and re-exports every name, so importers need not know the
layout.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from platform_kpis.catalog import Catalog, parse_catalog
from platform_kpis.kpis import SCORECARD_KPIS
from simulator.truth.as_of import (
    MONTHLY_TABLES,
    WEEKLY_TABLES,
    as_of_from_clock,
    month_is_complete,
    records_from_models,
    week_is_complete,
    with_completeness,
)
from simulator.truth.bets import (
    bet_row,
    mart_platform_bets,
    monthly_values,
    period_of,
    shift,
    verdict,
    weekly_values,
)
from simulator.truth.capacity import (
    HOURS_PER_FTE_WEEK,
    capacity_effort,
    engineer_week_effort,
    mart_capacity_allocation,
    target_share,
)
from simulator.truth.common import (
    ALL,
    CATEGORIES,
    UNASSIGNED,
    UNCLASSIFIED,
    Record,
    Teams,
    as_utc,
    bucket,
    hours_between,
    mean,
    minutes_between,
    month_end,
    month_range,
    month_start,
    next_month,
    percentile_cont,
    ratio,
    table_teams,
    team_key,
    week_range,
    week_start,
)
from simulator.truth.cost import compute_cost, kpi_cost_to_serve_monthly
from simulator.truth.delivery import (
    ROLLBACK_WORD,
    attribute_change,
    attribute_incidents,
    change_failure_rate,
    compare_commits,
    delivery_date,
    delivery_figures,
    deploy_order,
    detect_rollbacks,
    failure_reason,
    fct_changes,
    fct_deployments,
    first_commit_at,
    is_change,
    is_production,
    kpi_delivery_weekly,
    linear_history,
    pr_category,
    production_deployments,
    rollback_rate,
    says_rollback,
    shipped_commits,
)
from simulator.truth.incidents import (
    acknowledged_at,
    fct_incidents,
    incident_figures,
    kpi_incidents_weekly,
    ops_hours,
    resolved_at,
    responder_first_acks,
)
from simulator.truth.scorecard import (
    capacity_share,
    change_pct,
    coverage_row,
    kpi_coverage,
    kpi_scorecard,
    scorecard_values,
    theme_scorecard,
)
from simulator.truth.support import (
    active_customers,
    fct_tickets,
    handle_hours,
    is_trust,
    kpi_support_monthly,
    kpi_support_themes_monthly,
    tickets_per_1k,
)

TABLES = (
    "fct_deployments",
    "fct_changes",
    "fct_incidents",
    "fct_tickets",
    "kpi_delivery_weekly",
    "kpi_incidents_weekly",
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_cost_to_serve_monthly",
    "mart_capacity_allocation",
    "kpi_scorecard",
    "kpi_coverage",
    "mart_platform_bets",
)


# --- periods -------------------------------------------------------------------------------


def weekly_range(
    deployments: list[Record], changes: list[Record], incidents: list[Record]
) -> list[date]:
    """First to last week holding a production deployment, a deployed change or an
    incident."""
    return week_range(
        [week_start(delivery_date(d)) for d in deployments]
        + [week_start(c["deployed_at"]) for c in changes if c["deployed_at"]]
        + [week_start(i["created_at"]) for i in incidents]
    )


def monthly_range(
    tickets: list[Record],
    incidents: list[Record],
    deployments: list[Record],
    merged_prs: list[Record],
    billing: list[Record] | None,
) -> list[date]:
    live = [t for t in tickets if t["status"] != "deleted"]
    return month_range(
        [month_start(t["created_at"]) for t in live]
        + [month_start(t["solved_at"]) for t in live if t["solved_at"] is not None]
        + [month_start(i["created_at"]) for i in incidents]
        + [month_start(delivery_date(d)) for d in deployments]
        + [month_start(p["merged_at"]) for p in merged_prs]
        + [month_start(as_utc(b["ChargePeriodStart"])) for b in billing or ()]
    )


# --- the whole truth ---------------------------------------------------------------------


def kpi_truth_from_records(
    catalog: Catalog,
    records: Record,
    billing: list[Record] | None = None,
    *,
    as_of: datetime | None = None,
) -> dict[str, list[Record]]:
    """Every contract table from plain records (see :func:`records_from_models`).
    ``as_of``: the data's as-of time, which decides the complete periods (None: none is)."""
    teams = Teams(catalog, records["users"])
    branches = {name: r["default_branch"] for name, r in records["repos"].items()}
    histories = {name: r["history"] for name, r in records["repos"].items()}
    deployments = production_deployments(records["deployments"], records["runs"], catalog, branches)
    incidents = fct_incidents(records["incidents"], teams)
    deps, shipped = fct_deployments(
        deployments, histories, incidents, teams, catalog.incident_window_hours
    )
    merged = [p for p in records["pulls"] if p["merged_at"] is not None]
    changes = fct_changes(merged, deps, shipped, teams, catalog, branches)
    tickets = fct_tickets(records["tickets"], catalog)
    merged_prs = [{**p, "category": pr_category(p, catalog)} for p in merged]
    weeks = weekly_range(deps, changes, incidents)
    months = monthly_range(tickets, incidents, deps, merged_prs, billing)
    support = kpi_support_monthly(tickets, records["organizations"], months)
    cost = kpi_cost_to_serve_monthly(
        incidents, tickets, records["organizations"], months, catalog.hourly_cost, billing
    )
    effort = capacity_effort(merged_prs, records["incidents"], teams, catalog)
    themes = kpi_support_themes_monthly(
        records["tickets"], records["organizations"], months, catalog.ticket_themes
    )
    scorecard = kpi_scorecard(months, deps, changes, incidents, support, cost, effort)
    tables = {
        "fct_deployments": deps,
        "fct_changes": changes,
        "fct_incidents": incidents,
        "fct_tickets": tickets,
        "kpi_delivery_weekly": kpi_delivery_weekly(deps, changes, weeks, teams.names),
        "kpi_incidents_weekly": kpi_incidents_weekly(incidents, deps, weeks, teams.names),
        "kpi_support_monthly": support,
        "kpi_support_themes_monthly": themes,
        "kpi_cost_to_serve_monthly": cost,
        "mart_capacity_allocation": mart_capacity_allocation(effort, catalog),
        "kpi_scorecard": scorecard + theme_scorecard(themes),
        "kpi_coverage": kpi_coverage(deps, shipped, changes, incidents, merged_prs, teams),
    }
    with_completeness(tables, as_of)
    tables["mart_platform_bets"] = mart_platform_bets(catalog, tables, as_of)
    return tables


def kpi_truth(
    sim_or_models: Any,
    now: datetime | None = None,
    billing: list[Record] | None = None,
    catalog: dict | Catalog | None = None,
    as_of: datetime | None = None,
) -> dict[str, list[Record]]:
    """The ground truth of every contract table as of ``now``.

    ``sim_or_models``: a ``Simulator`` (its clock gives the default ``now``) or a tuple
    ``(org, github_model, pagerduty_model, zendesk_model)``. ``billing``: optional FOCUS
    rows ({ChargePeriodStart, BilledCost}); None means no billing export is configured.
    ``catalog``: defaults to ``org.catalog()``, the catalog the pipeline is configured
    with. ``as_of``: the data's as-of time; by default that of a sync at ``now``."""
    if isinstance(sim_or_models, tuple):
        org, gh, pd, zd = sim_or_models
    else:
        sim = sim_or_models
        org, gh, pd, zd = sim.org, sim.github_model, sim.pagerduty_model, sim.zendesk_model
        if now is None:
            now = sim.clock.now()
    if now is None:
        now = org.now0
    if not isinstance(catalog, Catalog):
        catalog = parse_catalog(catalog if catalog is not None else org.catalog())
    return kpi_truth_from_records(
        catalog,
        records_from_models(gh, pd, zd, now, catalog),
        billing,
        as_of=as_of if as_of is not None else as_of_from_clock(now),
    )


# Every name the modules define is the package's: importers need not know the layout.
__all__ = [
    "ALL",
    "CATEGORIES",
    "HOURS_PER_FTE_WEEK",
    "MONTHLY_TABLES",
    "ROLLBACK_WORD",
    "Record",
    "SCORECARD_KPIS",
    "TABLES",
    "Teams",
    "UNASSIGNED",
    "UNCLASSIFIED",
    "WEEKLY_TABLES",
    "acknowledged_at",
    "active_customers",
    "as_of_from_clock",
    "as_utc",
    "attribute_change",
    "attribute_incidents",
    "bet_row",
    "bucket",
    "capacity_effort",
    "capacity_share",
    "change_failure_rate",
    "change_pct",
    "compare_commits",
    "compute_cost",
    "coverage_row",
    "delivery_date",
    "delivery_figures",
    "deploy_order",
    "detect_rollbacks",
    "engineer_week_effort",
    "failure_reason",
    "fct_changes",
    "fct_deployments",
    "fct_incidents",
    "fct_tickets",
    "first_commit_at",
    "handle_hours",
    "hours_between",
    "incident_figures",
    "is_change",
    "is_production",
    "is_trust",
    "kpi_cost_to_serve_monthly",
    "kpi_coverage",
    "kpi_delivery_weekly",
    "kpi_incidents_weekly",
    "kpi_scorecard",
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_truth",
    "kpi_truth_from_records",
    "linear_history",
    "mart_capacity_allocation",
    "mart_platform_bets",
    "mean",
    "minutes_between",
    "month_end",
    "month_is_complete",
    "month_range",
    "month_start",
    "monthly_range",
    "monthly_values",
    "next_month",
    "ops_hours",
    "percentile_cont",
    "period_of",
    "pr_category",
    "production_deployments",
    "ratio",
    "records_from_models",
    "resolved_at",
    "responder_first_acks",
    "rollback_rate",
    "says_rollback",
    "scorecard_values",
    "shift",
    "shipped_commits",
    "table_teams",
    "target_share",
    "team_key",
    "theme_scorecard",
    "tickets_per_1k",
    "verdict",
    "week_is_complete",
    "week_range",
    "week_start",
    "weekly_range",
    "weekly_values",
    "with_completeness",
]
