"""The truth of ``marts/cost``: monthly cost to serve (``kpi_cost_to_serve_monthly``), from
incident hours, ticket handle time and the optional FOCUS billing export.
"""

from __future__ import annotations

from datetime import date

from simulator.truth.common import Record, as_utc, month_start, ratio
from simulator.truth.support import active_customers


def compute_cost(billing: list[Record] | None, month: date) -> float | None:
    """Sum of BilledCost charged in the month; NULL without a billing export."""
    if billing is None:
        return None
    return float(
        sum(
            float(b["BilledCost"])
            for b in billing
            if month_start(as_utc(b["ChargePeriodStart"])) == month
        )
    )


def kpi_cost_to_serve_monthly(
    incidents: list[Record],
    tickets: list[Record],
    organizations: list[Record],
    months: list[date],
    hourly_cost: float,
    billing: list[Record] | None,
) -> list[Record]:
    rows = []
    for m in months:
        incident_hours = float(
            sum(i["ops_hours"] or 0.0 for i in incidents if month_start(i["created_at"]) == m)
        )
        support_hours = float(
            sum(
                t["handle_hours"] or 0.0
                for t in tickets
                if t["status"] != "deleted"
                and t["solved_at"] is not None
                and month_start(t["solved_at"]) == m
            )
        )
        total = incident_hours + support_hours
        ops_cost = total * hourly_cost
        compute = compute_cost(billing, m)
        customers = active_customers(organizations, m)
        rows.append(
            {
                "month_start": m,
                "compute_cost": compute,
                "incident_ops_hours": incident_hours,
                "support_ops_hours": support_hours,
                "ops_hours": total,
                "ops_cost": ops_cost,
                "active_customers": customers,
                "cost_per_customer": None
                if compute is None
                else ratio(compute + ops_cost, customers),
                "ops_cost_per_customer": ratio(ops_cost, customers),
            }
        )
    return rows
