"""The scorecard of the last complete month, with coverage beside the figures it qualifies."""

from __future__ import annotations

from dataclasses import dataclass, field

from reporting import formatting as fmt
from reporting.marts import Publication
from reporting.periods import knows_completeness, last_complete, read

# The scorecard's KPIs in reading order, with their labels; theme KPIs follow the total.
LABELS = {
    "lead_time_p50_hours": "Lead time to production, median",
    "lead_time_p95_hours": "Lead time to production, p95",
    "deployments": "Production deployments",
    "rollback_rate": "Deployments rolled back",
    "change_failure_rate": "Change failure rate",
    "incidents": "Incidents",
    "mttr_hours": "Mean time to resolve",
    "tickets_per_1k_customers": "Support tickets per 1K customers",
    "cost_per_customer": "Cost to serve per customer",
    "ops_cost_per_customer": "Operations cost per customer",
    "roadmap_share": "Capacity on roadmap",
    "platform_share": "Capacity on platform",
    "unplanned_share": "Capacity on unplanned work",
}
THEME_SUFFIX = "_tickets_per_1k_customers"

# kpi_coverage metrics that qualify a KPI: the share of events the KPI could see.
COVERAGE_OF = {
    "lead_time_p50_hours": ("changes_deployed", "deployments_compare_linked"),
    "lead_time_p95_hours": ("changes_deployed", "deployments_compare_linked"),
    "change_failure_rate": ("incidents_team_mapped",),
    "roadmap_share": ("prs_classified", "authors_mapped"),
    "platform_share": ("prs_classified", "authors_mapped"),
    "unplanned_share": ("prs_classified", "authors_mapped"),
}
COVERAGE_LABELS = {
    "deployments_compare_linked": "deployments linked by compare",
    "changes_deployed": "changes attributed to a deployment",
    "incidents_team_mapped": "incidents mapped to a team",
    "prs_classified": "merged PRs classified",
    "authors_mapped": "PR authors mapped to a team",
}


def label(kpi: str) -> str:
    if kpi in LABELS:
        return LABELS[kpi]
    if kpi.endswith(THEME_SUFFIX):
        theme = kpi.removesuffix(THEME_SUFFIX).replace("_", " ")
        return f"Tickets per 1K customers: {theme}"
    return kpi.replace("_", " ").capitalize()


def order(kpis: set[str]) -> list[str]:
    known = list(LABELS)
    themes = sorted(k for k in kpis if k.endswith(THEME_SUFFIX) and k not in LABELS)
    at = known.index("tickets_per_1k_customers") + 1
    ranked = known[:at] + themes + known[at:]
    return [k for k in ranked if k in kpis] + sorted(kpis - set(ranked))


@dataclass
class Coverage:
    metric: str
    label: str
    covered: int
    total: int
    share: float | None

    @property
    def shown(self) -> str:
        return fmt.share(self.share)

    @property
    def text(self) -> str:
        return f"{self.shown} {self.label} ({self.covered:,}/{self.total:,})"


@dataclass
class Row:
    kpi: str
    label: str
    value: str
    previous: str
    change_pct: str
    n: str
    coverage: list[Coverage] = field(default_factory=list)


@dataclass
class Scorecard:
    month: str | None
    month_start: object
    rows: list[Row]
    coverage: list[Coverage]
    notes: list[str]

    def markdown(self) -> str:
        """The key figures, for the Dagster asset's metadata."""
        if not self.rows:
            return "No complete month in this publication yet."
        lines = [
            f"**Scorecard, {self.month}** (org-wide, the last complete month)",
            "",
            "| KPI | value | previous | change | n |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            lines.append(f"| {r.label} | {r.value} | {r.previous} | {r.change_pct} | {r.n} |")
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes])


def coverage(pub: Publication) -> dict[str, Coverage]:
    rows = pub.rows("kpi_coverage", ["metric", "covered", "total", "share"], order="metric")
    return {
        r["metric"]: Coverage(
            r["metric"],
            COVERAGE_LABELS.get(r["metric"], r["metric"].replace("_", " ")),
            r["covered"],
            r["total"],
            r["share"],
        )
        for r in rows
    }


def build(pub: Publication, no_billing_export: bool) -> Scorecard:
    cols = ["kpi", "value", "previous_value", "change_pct", "n"]
    rows = read(pub, "kpi_scorecard", "month_start", cols)
    flagged = knows_completeness(pub, "kpi_scorecard")
    month = last_complete(rows, "month_start")
    cov = coverage(pub)
    notes = []
    if not pub.has("kpi_scorecard"):
        notes.append("The scorecard is not in this publication.")
    elif not flagged:
        notes.append(
            "Completeness is not in this publication: the latest month is taken as partial."
        )
    if month is None:
        return Scorecard(None, None, [], list(cov.values()), notes)
    of_month = {r["kpi"]: r for r in rows if r["month_start"] == month}
    out = []
    for kpi in order(set(of_month)):
        r = of_month[kpi]
        shown = fmt.value(kpi, r["value"])
        if kpi == "cost_per_customer" and no_billing_export:
            shown = "no billing export"
        out.append(
            Row(
                kpi=kpi,
                label=label(kpi),
                value=shown,
                previous=fmt.value(kpi, r["previous_value"]),
                change_pct=fmt.pct(r["change_pct"]),
                n=fmt.count(r["n"]),
                coverage=[cov[m] for m in COVERAGE_OF.get(kpi, ()) if m in cov],
            )
        )
    return Scorecard(fmt.month(month), month, out, list(cov.values()), notes)
