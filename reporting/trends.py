"""The trends: delivery and incidents by week (org-wide), support and cost by month."""

from __future__ import annotations

from dataclasses import dataclass, field

from reporting import charts
from reporting import formatting as fmt
from reporting.figure import Figure
from reporting.marts import Publication
from reporting.periods import last_complete, read


@dataclass
class Trend:
    key: str
    title: str
    charts: list[str] = field(default_factory=list)
    period: str = ""  # the last complete period the figures below are from
    figures: list[tuple[str, Figure]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _latest(
    rows: list[dict], table: str, period: str, columns: dict[str, str], key: dict
) -> tuple[str, list[tuple[str, Figure]]]:
    """The last complete period's figures: (label, figure) per column of ``columns``."""
    at = last_complete(rows, period)
    if at is None:
        return "", []
    row = next(r for r in rows if r[period] == at)
    figures = [
        (label, Figure(fmt.value(col, row[col]), table, col, {period: at, **key}))
        for col, label in columns.items()
        if col in row
    ]
    return at.isoformat(), figures


def _missing(pub: Publication, table: str, trend: Trend) -> bool:
    if pub.has(table):
        return False
    trend.notes.append(f"{table} is not in this publication.")
    return True


def lead_time(pub: Publication) -> Trend:
    t = Trend("lead-time", "Lead time to production (weekly, org-wide)")
    table = "kpi_delivery_weekly"
    if _missing(pub, table, t):
        return t
    cols = {"lead_time_p50_hours": "median", "lead_time_p95_hours": "p95", "n": "changes"}
    rows = read(pub, table, "week_start", list(cols), "team = 'all'")
    t.charts = [
        charts.lines(
            rows,
            "week_start",
            {"lead_time_p50_hours": "median", "lead_time_p95_hours": "p95"},
            "Lead time (hours)",
            "hours",
        )
    ]
    t.period, t.figures = _latest(rows, table, "week_start", cols, {"team": "all"})
    return t


def deployments(pub: Publication) -> Trend:
    t = Trend("deployments", "Deployments, rollbacks and change failures (weekly, org-wide)")
    table = "kpi_delivery_weekly"
    if _missing(pub, table, t):
        return t
    cols = {
        "deployments": "deployments",
        "rollback_rate": "rolled back",
        "change_failure_rate": "change failure rate",
    }
    rows = read(pub, table, "week_start", list(cols), "team = 'all'")
    in_pct = [
        {**r, "rollback_rate": _pct(r["rollback_rate"]), "cfr": _pct(r["change_failure_rate"])}
        for r in rows
    ]
    t.charts = [
        charts.bars(rows, "week_start", "deployments", "Production deployments", "deployments"),
        charts.lines(
            in_pct,
            "week_start",
            {"rollback_rate": "rolled back", "cfr": "change failure rate"},
            "Rollback and change failure rates (%)",
            "% of deployments",
        ),
    ]
    t.period, t.figures = _latest(rows, table, "week_start", cols, {"team": "all"})
    return t


def incidents(pub: Publication) -> Trend:
    t = Trend("incidents", "Incidents and time to resolve (weekly, org-wide)")
    table = "kpi_incidents_weekly"
    if _missing(pub, table, t):
        return t
    cols = {"incidents": "incidents", "mttr_hours": "MTTR", "n": "resolved"}
    rows = read(pub, table, "week_start", list(cols), "team = 'all'")
    t.charts = [
        charts.bars(rows, "week_start", "incidents", "Incidents", "incidents"),
        charts.lines(rows, "week_start", {"mttr_hours": "MTTR"}, "Mean time to resolve", "hours"),
    ]
    t.period, t.figures = _latest(rows, table, "week_start", cols, {"team": "all"})
    return t


def tickets(pub: Publication) -> Trend:
    t = Trend("tickets", "Support tickets per 1K customers (monthly)")
    table = "kpi_support_monthly"
    if _missing(pub, table, t):
        return t
    cols = {"tickets_per_1k_customers": "all tickets", "tickets": "tickets"}
    rows = read(pub, table, "month_start", list(cols))
    series = {"tickets_per_1k_customers": "all tickets"}
    t.period, t.figures = _latest(rows, table, "month_start", cols, {})
    themes_table = "kpi_support_themes_monthly"
    if pub.has(themes_table):
        theme_rows = read(pub, themes_table, "month_start", ["theme", "tickets_per_1k_customers"])
        by_month = {r["month_start"]: r for r in rows}
        for theme in sorted({r["theme"] for r in theme_rows}):
            column = f"theme:{theme}"
            series[column] = theme.replace("_", " ")
            mine = [r for r in theme_rows if r["theme"] == theme]
            for r in mine:
                by_month.setdefault(
                    r["month_start"], {"month_start": r["month_start"], "complete": r["complete"]}
                )[column] = r["tickets_per_1k_customers"]
            _, figs = _latest(
                mine,
                themes_table,
                "month_start",
                {"tickets_per_1k_customers": theme.replace("_", " ")},
                {"theme": theme},
            )
            t.figures += figs
        rows = sorted(by_month.values(), key=lambda r: r["month_start"])
        for r in rows:
            for column in series:
                r.setdefault(column, None)
    else:
        t.notes.append(
            "Tickets per theme are not in this publication; the trust tickets of "
            "kpi_support_monthly stand in for them."
        )
        trust = read(pub, table, "month_start", ["trust_tickets_per_1k_customers"])
        if trust and "trust_tickets_per_1k_customers" in trust[0]:
            series["trust_tickets_per_1k_customers"] = "trust"
            by_month = {r["month_start"]: r for r in trust}
            for r in rows:
                r["trust_tickets_per_1k_customers"] = by_month[r["month_start"]].get(
                    "trust_tickets_per_1k_customers"
                )
            _, figs = _latest(
                trust, table, "month_start", {"trust_tickets_per_1k_customers": "trust"}, {}
            )
            t.figures += figs
    t.charts = [charts.lines(rows, "month_start", series, "Tickets per 1K customers", "per 1K")]
    return t


def cost(pub: Publication, no_billing_export: bool) -> Trend:
    t = Trend("cost", "Cost to serve per customer (monthly)")
    table = "kpi_cost_to_serve_monthly"
    if _missing(pub, table, t):
        return t
    cols = {
        "cost_per_customer": "cost per customer",
        "ops_cost_per_customer": "operations cost per customer",
        "ops_hours": "operations hours",
    }
    if no_billing_export:
        del cols["cost_per_customer"]
        t.notes.append(
            "No billing export is configured: the compute cost is unknown, so only the "
            "operations cost per customer is shown (set billing_export in the catalog)."
        )
    rows = read(pub, table, "month_start", list(cols))
    series = {c: label for c, label in cols.items() if c != "ops_hours"}
    t.charts = [charts.lines(rows, "month_start", series, "Cost per customer", "per customer")]
    t.period, t.figures = _latest(rows, table, "month_start", cols, {})
    return t


def _pct(x: float | None) -> float | None:
    return None if x is None else x * 100


def build(pub: Publication, no_billing_export: bool) -> list[Trend]:
    trends = [
        lead_time(pub),
        deployments(pub),
        incidents(pub),
        tickets(pub),
        cost(pub, no_billing_export),
    ]
    for t in trends:
        t.charts = [c for c in t.charts if c]
        if not t.charts and not t.notes:
            t.notes.append("No data for this chart in this publication.")
    return trends
