"""The truth of ``marts/support``: tickets (``fct_tickets``), monthly support load per 1,000
active customers (``kpi_support_monthly``) and per ticket theme
(``kpi_support_themes_monthly``).

Readings of the themes: a ticket belongs to every theme one of whose tags it carries as of
now (exact, case-sensitive match, as for trust tickets); deleted tickets count in no theme.
The themes table is dense over the monthly range and every catalog theme.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from platform_kpis.catalog import Catalog
from simulator.truth.common import Record, month_end, month_start, ratio


def is_trust(tags: Iterable[str], trust_tags: Iterable[str]) -> bool:
    return bool(set(tags) & set(trust_tags))


# A theme's tags match a ticket's as trust tags do: exact, case-sensitive.
carries_any = is_trust


def handle_hours(seconds: float | None) -> float | None:
    return None if seconds is None else float(seconds) / 3600.0


def fct_tickets(tickets: list[Record], catalog: Catalog) -> list[Record]:
    field_set = catalog.handle_time_field_id is not None
    return [
        {
            "ticket_id": t["ticket_id"],
            "organization_id": t["organization_id"],
            "created_at": t["created_at"],
            "solved_at": t["solved_at"],
            "status": t["status"],
            "type": t["type"],
            "is_trust": is_trust(t["tags"], catalog.trust_tags),
            "handle_hours": handle_hours(t["handle_time_seconds"]) if field_set else None,
        }
        for t in sorted(tickets, key=lambda t: t["ticket_id"])
    ]


def active_customers(organizations: list[Record], month: date) -> int:
    """Customers created before the month's end."""
    end = month_end(month)
    return sum(1 for o in organizations if o["created_at"] < end)


def tickets_per_1k(tickets: int, customers: int) -> float | None:
    r = ratio(tickets, customers)
    return None if r is None else r * 1000


def kpi_support_monthly(
    tickets: list[Record], organizations: list[Record], months: list[date]
) -> list[Record]:
    live = [t for t in tickets if t["status"] != "deleted"]
    rows = []
    for m in months:
        of_month = [t for t in live if month_start(t["created_at"]) == m]
        trust = sum(1 for t in of_month if t["is_trust"])
        customers = active_customers(organizations, m)
        rows.append(
            {
                "month_start": m,
                "tickets": len(of_month),
                "trust_tickets": trust,
                "active_customers": customers,
                "tickets_per_1k_customers": tickets_per_1k(len(of_month), customers),
                "trust_tickets_per_1k_customers": tickets_per_1k(trust, customers),
            }
        )
    return rows


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
