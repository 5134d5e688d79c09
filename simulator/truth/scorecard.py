"""The truth of ``marts/scorecard``: the monthly scorecard of every KPI with its previous
value and change (``kpi_scorecard``), and the coverage of the joins the KPIs rest on
(``kpi_coverage``).

Readings of the theme KPIs: ``<theme>_tickets_per_1k_customers`` is the theme's monthly
rate, with n its tickets; previous value and change as for every scorecard KPI.
"""

from __future__ import annotations

from datetime import date

from platform_kpis.kpis import SCORECARD_KPIS
from simulator.truth.common import ALL, CATEGORIES, UNCLASSIFIED, Record, Teams, month_start, ratio
from simulator.truth.delivery import delivery_figures
from simulator.truth.incidents import incident_figures


def change_pct(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / previous * 100


def capacity_share(
    effort: dict[tuple[date, str, str], float], month: date, category: str
) -> float | None:
    """The 'all' share of a category over the weeks whose week_start falls in the month."""
    in_month = {k: v for k, v in effort.items() if k[1] == ALL and month_start(k[0]) == month}
    return ratio(sum(v for k, v in in_month.items() if k[2] == category), sum(in_month.values()))


def scorecard_values(
    month: date,
    deployments: list[Record],
    changes: list[Record],
    incidents: list[Record],
    support: Record,
    cost: Record,
    effort: dict[tuple[date, str, str], float],
) -> dict[str, tuple[float | None, int | None]]:
    """kpi -> (value, n) for one month, org-wide."""
    deps = [d for d in deployments if d["succeeded"] and month_start(d["deployed_at"]) == month]
    deployed = [
        c
        for c in changes
        if c["deployed_at"] is not None and month_start(c["deployed_at"]) == month
    ]
    f = delivery_figures(deps, deployed)
    incs = [i for i in incidents if month_start(i["created_at"]) == month]
    g = incident_figures(incs, 0)
    base = f["non_rollback_deployments"]
    values: dict[str, tuple[float | None, int | None]] = {
        "lead_time_p50_hours": (f["lead_time_p50_hours"], f["n"]),
        "lead_time_p95_hours": (f["lead_time_p95_hours"], f["n"]),
        "deployments": (float(f["deployments"]), f["deployments"]),
        "rollback_rate": (f["rollback_rate"], base),
        "change_failure_rate": (f["change_failure_rate"], base),
        "incidents": (float(g["incidents"]), g["incidents"]),
        "mttr_hours": (g["mttr_hours"], g["resolved_incidents"]),
        "tickets_per_1k_customers": (support["tickets_per_1k_customers"], support["tickets"]),
        "cost_per_customer": (cost["cost_per_customer"], None),
        "ops_cost_per_customer": (cost["ops_cost_per_customer"], None),
    }
    for c in CATEGORIES:
        values[f"{c}_share"] = (capacity_share(effort, month, c), None)
    return values


def kpi_scorecard(
    months: list[date],
    deployments: list[Record],
    changes: list[Record],
    incidents: list[Record],
    support: list[Record],
    cost: list[Record],
    effort: dict[tuple[date, str, str], float],
) -> list[Record]:
    support_by = {r["month_start"]: r for r in support}
    cost_by = {r["month_start"]: r for r in cost}
    rows = []
    previous: dict[str, float | None] = {}
    for m in months:
        values = scorecard_values(
            m, deployments, changes, incidents, support_by[m], cost_by[m], effort
        )
        for kpi in SCORECARD_KPIS:
            value, n = values[kpi]
            prev = previous.get(kpi)
            rows.append(
                {
                    "month_start": m,
                    "kpi": kpi,
                    "value": value,
                    "previous_value": prev,
                    "change_pct": change_pct(value, prev),
                    "n": n,
                }
            )
            previous[kpi] = value
    return rows


def coverage_row(metric: str, covered: int, total: int) -> Record:
    return {"metric": metric, "covered": covered, "total": total, "share": ratio(covered, total)}


def kpi_coverage(
    deployments: list[Record],
    shipped: dict[int, list[str] | None],
    changes: list[Record],
    incidents: list[Record],
    merged_prs: list[Record],
    teams: Teams,
) -> list[Record]:
    ok = [d for d in deployments if d["succeeded"]]
    return [
        coverage_row(
            "deployments_compare_linked",
            sum(1 for d in ok if shipped.get(d["deployment_id"]) is not None),
            len(ok),
        ),
        coverage_row(
            "changes_deployed",
            sum(1 for c in changes if c["deployment_id"] is not None),
            len(changes),
        ),
        coverage_row(
            "incidents_team_mapped",
            sum(1 for i in incidents if i["team"] is not None),
            len(incidents),
        ),
        coverage_row(
            "prs_classified",
            sum(1 for p in merged_prs if p["category"] != UNCLASSIFIED),
            len(merged_prs),
        ),
        coverage_row(
            "authors_mapped",
            sum(1 for p in merged_prs if p["author"] in teams.login),
            len(merged_prs),
        ),
    ]


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
