"""From platform pain to business outcome: the four translations a platform lead makes when
pitching work that sounds like maintenance, each backed by scorecard KPIs of the last complete
month. The list is the report's; the KPIs and their rules are the marts'."""

from __future__ import annotations

from dataclasses import dataclass

from reporting.scorecard import Row, Scorecard, label

ENTERPRISE_THEME_KPI = "enterprise_blocker_tickets_per_1k_customers"

# (pain, the business outcome it costs, the scorecard KPIs that measure it)
TRANSLATIONS = (
    (
        "Fragile releases",
        "features reach customers later and break more often",
        ("lead_time_p50_hours", "lead_time_p95_hours", "change_failure_rate"),
    ),
    (
        "Data mismatches",
        "customers stop trusting the numbers they pay for",
        ("trust_tickets_per_1k_customers",),
    ),
    (
        "Manual operations",
        "engineers' hours go to keeping the lights on, and serving a customer costs more",
        ("ops_cost_per_customer", "cost_per_customer"),
    ),
    (
        "Inconsistent permissions and audit",
        "enterprise deals stall in security review",
        (ENTERPRISE_THEME_KPI,),
    ),
)


@dataclass
class Translation:
    pain: str
    outcome: str
    rows: list[Row]
    missing: list[str]


def build(card: Scorecard) -> list[Translation]:
    """Each translation with the scorecard rows that back it; a KPI the publication lacks is
    named (the enterprise-blocker theme exists only when the catalog declares it)."""
    by_kpi = {r.kpi: r for r in card.rows}
    out = []
    for pain, outcome, kpis in TRANSLATIONS:
        missing = [k for k in kpis if k not in by_kpi]
        out.append(Translation(pain, outcome, [by_kpi[k] for k in kpis if k in by_kpi], missing))
    return out


def missing_note(kpi: str) -> str:
    if kpi == ENTERPRISE_THEME_KPI:
        return (
            "no enterprise_blocker ticket theme in the catalog: declare one under "
            "ticket_themes (e.g. tags sso, permissions, audit_log) to measure it"
        )
    return f"{label(kpi)}: no figure in this month's scorecard"
