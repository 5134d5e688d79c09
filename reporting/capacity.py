"""Capacity allocation per team in the last complete week, against the budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from reporting import charts
from reporting import formatting as fmt
from reporting.figure import Figure
from reporting.marts import Publication
from reporting.periods import last_complete, read

TABLE = "mart_capacity_allocation"
COLUMNS = ["team", "category", "fte_weeks", "share", "target_share", "variance_pp"]


@dataclass
class Capacity:
    week: str = ""
    chart: str | None = None
    rows: list[dict] = field(default_factory=list)
    budget: str = ""
    notes: list[str] = field(default_factory=list)


def team_order(teams: set[str]) -> list[str]:
    """The organisation first, then the catalog's teams, then the people no team holds."""
    middle = sorted(teams - {"all", "unassigned"})
    return [t for t in ["all", *middle, "unassigned"] if t in teams]


def _targets(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Each team's budget. The mart states a target only beside effort, so a category a team
    never worked on takes the organisation's (default) target."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        out.setdefault(r["team"], {})[r["category"]] = r["target_share"]
    default = out.get("all", {})
    return {team: {**default, **mine} for team, mine in out.items()}


def build(pub: Publication) -> Capacity:
    cap = Capacity()
    if not pub.has(TABLE):
        cap.notes.append(f"{TABLE} is not in this publication.")
        return cap
    rows = read(pub, TABLE, "week_start", COLUMNS, order="week_start, team, category")
    week = last_complete(rows, "week_start")
    if week is None:
        cap.notes.append("No complete week of capacity data in this publication yet.")
        return cap
    cap.week = week.isoformat()
    targets = _targets(rows)
    order = {c: i for i, c in enumerate(charts.CATEGORY_ORDER)}
    this_week = [r for r in rows if r["week_start"] == week]
    teams = team_order({r["team"] for r in this_week})
    shown = sorted(
        this_week, key=lambda r: (teams.index(r["team"]), order.get(r["category"], len(order)))
    )
    budget = []
    for team in teams:
        cumulative = 0.0
        for category in charts.CATEGORY_ORDER[:-2]:  # the last boundary is 100%
            cumulative += targets[team].get(category, 0.0)
            budget.append({"team": team, "cumulative": cumulative})
    cap.chart = charts.capacity(shown, budget)
    org = targets.get("all", {})
    cap.budget = " / ".join(f"{c} {fmt.share(org[c])}" for c in charts.CATEGORY_ORDER if org.get(c))
    for r in shown:
        key = {"week_start": week, "team": r["team"], "category": r["category"]}
        cap.rows.append(
            {
                "team": r["team"],
                "category": r["category"],
                "fte_weeks": Figure(fmt.number(r["fte_weeks"], 2), TABLE, "fte_weeks", key),
                "share": Figure(fmt.share(r["share"]), TABLE, "share", key),
                "target": Figure(fmt.share(r["target_share"]), TABLE, "target_share", key),
                "variance": Figure(fmt.points(r["variance_pp"]), TABLE, "variance_pp", key),
                "over": (r["variance_pp"] or 0) > 0,
            }
        )
    return cap
