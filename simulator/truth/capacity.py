"""The truth of ``marts/capacity``: each engineer's week split between roadmap, platform and
unplanned work, summed per team and compared with the catalog's budget
(``mart_capacity_allocation``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from platform_kpis.catalog import Catalog
from simulator.truth.common import (
    ALL,
    UNASSIGNED,
    UNCLASSIFIED,
    Record,
    Teams,
    hours_between,
    week_start,
)
from simulator.truth.incidents import resolved_at, responder_first_acks

HOURS_PER_FTE_WEEK = 40.0


def engineer_week_effort(incident_hours: float, pr_categories: list[str]) -> dict[str, float]:
    """One engineer-week: min(hours/40, 1) FTE of unplanned incident work, the rest split
    equally over the PRs merged that week (nothing when there are none)."""
    share = min(incident_hours / HOURS_PER_FTE_WEEK, 1.0)
    effort: dict[str, float] = defaultdict(float)
    if share > 0:
        effort["unplanned"] += share
    for c in pr_categories:
        effort[c] += (1.0 - share) / len(pr_categories)
    return dict(effort)


def target_share(catalog: Catalog, team: str, category: str) -> float:
    if category == UNCLASSIFIED:
        return 0.0
    budget = catalog.budget_overrides.get(team) if team not in (ALL, UNASSIGNED) else None
    return float((budget or catalog.budget_default).get(category, 0.0))


def capacity_effort(
    merged_prs: list[Record], incidents: list[Record], teams: Teams, catalog: Catalog
) -> dict[tuple[date, str, str], float]:
    """FTE-weeks per (week_start, team, category), teams including 'all'.

    ``merged_prs``: {author, merged_at, category}; ``incidents``: raw incident records."""
    hours: dict[tuple[str, date], float] = defaultdict(float)
    prs: dict[tuple[str, date], list[str]] = defaultdict(list)
    team_of: dict[str, str] = {}
    for inc in incidents:
        res = resolved_at(inc)
        if res is None:
            continue
        for user, first in responder_first_acks(inc).items():
            eng, team = teams.responder_engineer(user)
            team_of[eng] = team
            hours[(eng, week_start(inc["created_at"]))] += hours_between(first, res)
    for pr in merged_prs:
        eng, team = teams.author_engineer(pr["author"])
        team_of[eng] = team
        prs[(eng, week_start(pr["merged_at"]))].append(pr["category"])
    out: dict[tuple[date, str, str], float] = defaultdict(float)
    for eng, week in set(hours) | set(prs):
        for category, fte in engineer_week_effort(
            hours.get((eng, week), 0.0), prs.get((eng, week), [])
        ).items():
            out[(week, team_of[eng], category)] += fte
            out[(week, ALL, category)] += fte
    return out


def mart_capacity_allocation(
    effort: dict[tuple[date, str, str], float], catalog: Catalog
) -> list[Record]:
    totals: dict[tuple[date, str], float] = defaultdict(float)
    for (week, team, _), fte in effort.items():
        totals[(week, team)] += fte
    rows = []
    for (week, team, category), fte in sorted(effort.items()):
        if fte <= 0:
            continue
        share = fte / totals[(week, team)]
        target = target_share(catalog, team, category)
        rows.append(
            {
                "week_start": week,
                "team": team,
                "category": category,
                "fte_weeks": fte,
                "share": share,
                "target_share": target,
                "variance_pp": (share - target) * 100,
            }
        )
    return rows
