"""The catalog's ``bets``: what the platform team shipped to move a scorecard KPI.

Each bet names a constraint, the investment (``bet``), the KPI it should move and which way
is better, optionally one team (only for KPIs measured per team), the day it shipped and how
many periods to compare on each side of the ship period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from platform_kpis.kpis import kpi_period, scorecard_kpis, weekly_mart

BET_ID = re.compile(r"[a-z0-9_-]+")
DIRECTIONS = ("up", "down")
# Periods on each side of the ship period when the catalog does not say.
DEFAULT_PERIODS = {"week": 8, "month": 3}
_KEYS = (
    "id",
    "constraint",
    "bet",
    "kpi",
    "direction",
    "team",
    "shipped_on",
    "baseline_periods",
    "evaluation_periods",
)


class BetError(ValueError):
    """A bet of the catalog is invalid; the message names ``bets[i].key`` (the catalog
    raises it as a CatalogError)."""


@dataclass(frozen=True)
class Bet:
    id: str
    constraint: str
    bet: str
    kpi: str
    direction: str
    shipped_on: date
    baseline_periods: int
    evaluation_periods: int
    team: str | None = None  # None: the whole organisation

    @property
    def period(self) -> str:
        return kpi_period(self.kpi)


def parse_bets(raw: Any, teams: tuple[str, ...], themes: tuple[str, ...]) -> tuple[Bet, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise BetError("bets must be a list of bets")
    kpis = scorecard_kpis(themes)
    bets: list[Bet] = []
    for i, doc in enumerate(raw):
        bet = _bet(i, doc, kpis, teams)
        if any(b.id == bet.id for b in bets):
            raise BetError(f"bets[{i}].id: bet {bet.id!r} appears twice")
        bets.append(bet)
    return tuple(bets)


def _bet(i: int, doc: Any, kpis: tuple[str, ...], teams: tuple[str, ...]) -> Bet:
    if not isinstance(doc, dict):
        raise BetError(f"bets[{i}] must be a mapping (id, constraint, bet, kpi, ...)")
    raw_id = doc.get("id")
    if not isinstance(raw_id, str) or not BET_ID.fullmatch(raw_id):
        raise BetError(
            f"bets[{i}].id: {raw_id!r} is not a slug (lowercase letters, digits, '-' and '_')"
        )

    def fail(key: str, why: str) -> BetError:
        return BetError(f"bets[{i}].{key} (bet {raw_id!r}): {why}")

    unknown = sorted(str(k) for k in doc if k not in _KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key; a bet takes {', '.join(_KEYS)}")

    def text(key: str) -> str:
        value = doc.get(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "must be non-empty text")
        return value.strip()

    kpi = doc.get("kpi")
    if kpi not in kpis:
        raise fail("kpi", f"{kpi!r} is not a scorecard KPI; one of {', '.join(kpis)}")
    direction = doc.get("direction")
    if direction not in DIRECTIONS:
        raise fail("direction", f"{direction!r} must be 'up' or 'down' (the better way)")
    team = doc.get("team")
    if team is not None:
        if team not in teams:
            raise fail("team", f"{team!r} is not a catalog team")
        if weekly_mart(kpi) is None:
            raise fail(
                "team",
                f"{kpi} is measured for the whole organisation only; "
                "team bets take delivery, incident or capacity KPIs",
            )
    default = DEFAULT_PERIODS[kpi_period(kpi)]
    return Bet(
        id=raw_id,
        constraint=text("constraint"),
        bet=text("bet"),
        kpi=kpi,
        direction=direction,
        shipped_on=_date(doc.get("shipped_on"), fail),
        baseline_periods=_periods(doc.get("baseline_periods", default), "baseline_periods", fail),
        evaluation_periods=_periods(
            doc.get("evaluation_periods", default), "evaluation_periods", fail
        ),
        team=team,
    )


def _date(value: Any, fail) -> date:
    # YAML reads an unquoted 2026-03-18 as a date already; a quoted one is text.
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail("shipped_on", f"{value!r} is not a date (YYYY-MM-DD)")


def _periods(value: Any, key: str, fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(key, f"{value!r} must be a positive whole number of periods")
    return value
