"""The bets ledger: each bet read as constraint -> bet -> outcome, with its verdict in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from platform_kpis.kpis import WEEK, kpi_period
from reporting import formatting as fmt
from reporting.figure import Figure
from reporting.marts import Publication
from reporting.scorecard import label

TABLE = "mart_platform_bets"
COLUMNS = [
    "bet_id",
    "team",
    "kpi",
    "direction",
    "shipped_on",
    "baseline_start",
    "baseline_end",
    "evaluation_start",
    "evaluation_end",
    "before_value",
    "after_value",
    "change",
    "change_pct",
    "n_before",
    "n_after",
    "standard_error",
    "verdict",
    "constraint_text",
    "bet_text",
]
VERDICTS = {
    "improved": "Improved: the KPI moved the better way by more than twice its standard error.",
    "worsened": "Worsened: the KPI moved the wrong way by more than twice its standard error.",
    "inconclusive": "Inconclusive: the change is within the noise of the period values "
    "(no more than twice its standard error).",
    "insufficient_data": "Not enough data: a window holds fewer than 3 periods with a value.",
    "in_progress": "In progress: the evaluation window is not over yet.",
}


@dataclass
class Bet:
    bet_id: str
    constraint: str
    bet: str
    outcome: str
    scope: str
    shipped_on: str
    baseline: str
    evaluation: str
    before: Figure
    after: Figure
    change: Figure
    change_pct: Figure
    n_before: Figure
    n_after: Figure
    verdict: str
    verdict_text: str


def _window(start, end) -> str:
    return f"{fmt.when(start)} to {fmt.when(end)}" if start and end else fmt.NONE


def build(pub: Publication) -> tuple[list[Bet], str | None]:
    """The bets, and a note when there are none to show (and why)."""
    if not pub.has(TABLE):
        return [], "The bets ledger is not in this publication."
    rows = pub.rows(TABLE, COLUMNS, order="shipped_on, bet_id")
    if not rows:
        return [], (
            "No bets in the catalog: add a bets list to record what each platform bet changed."
        )
    bets = []
    for r in rows:
        kpi, key = r["kpi"], {"bet_id": r["bet_id"]}
        better = "lower" if r.get("direction") == "down" else "higher"
        verdict = r.get("verdict") or ""
        words = VERDICTS.get(verdict, verdict.replace("_", " "))
        if verdict == "in_progress" and r.get("evaluation_end"):
            words += f" The verdict comes after {fmt.when(_period_end(kpi, r['evaluation_end']))}."
        bets.append(
            Bet(
                bet_id=r["bet_id"],
                constraint=r.get("constraint_text") or fmt.NONE,
                bet=r.get("bet_text") or fmt.NONE,
                outcome=f"{label(kpi)} ({better} is better)",
                scope=f"team {r['team']}" if r.get("team") not in (None, "all") else "organisation",
                shipped_on=fmt.when(r.get("shipped_on")),
                baseline=_window(r.get("baseline_start"), r.get("baseline_end")),
                evaluation=_window(r.get("evaluation_start"), r.get("evaluation_end")),
                before=Figure(fmt.value(kpi, r.get("before_value")), TABLE, "before_value", key),
                after=Figure(fmt.value(kpi, r.get("after_value")), TABLE, "after_value", key),
                change=Figure(fmt.change(kpi, r.get("change")), TABLE, "change", key),
                change_pct=Figure(fmt.pct(r.get("change_pct")), TABLE, "change_pct", key),
                n_before=Figure(fmt.count(r.get("n_before")), TABLE, "n_before", key),
                n_after=Figure(fmt.count(r.get("n_after")), TABLE, "n_after", key),
                verdict=verdict,
                verdict_text=words,
            )
        )
    return bets, None


def _period_end(kpi: str, last_period_start: dt.date) -> dt.date:
    """The day after the evaluation's last period (the mart gives that period's first day)."""
    if kpi_period(kpi) == WEEK:
        return last_period_start + dt.timedelta(days=7)
    month = last_period_start.month
    return dt.date(last_period_start.year + month // 12, month % 12 + 1, 1)
