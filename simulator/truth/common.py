"""What several domains of the truth share: the team and category names, percentiles and
ratios, ISO weeks and calendar months, and the catalog's team lookups (:class:`Teams`).

It exists so that no domain module imports another only for a helper; it imports no domain.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from platform_kpis.catalog import Catalog

ALL = "all"
UNASSIGNED = "unassigned"
UNCLASSIFIED = "unclassified"
CATEGORIES = ("roadmap", "platform", "unplanned")

Record = dict[str, Any]


# --- generic helpers -------------------------------------------------------------------


def percentile_cont(values: Iterable[float], q: float) -> float | None:
    """Continuous percentile with linear interpolation (numpy 'linear', quantile_cont)."""
    v = sorted(values)
    if not v:
        return None
    pos = (len(v) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float | None:
    v = list(values)
    return sum(v) / len(v) if v else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """A rate; NULL when the denominator is 0 (or either side is NULL)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def hours_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 3600.0


def minutes_between(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60.0


def week_start(t: datetime) -> date:
    """The Monday of the ISO week of ``t`` (UTC)."""
    d = t.astimezone(UTC).date()
    return d - timedelta(days=d.weekday())


def month_start(t: datetime | date) -> date:
    d = t.astimezone(UTC).date() if isinstance(t, datetime) else t
    return d.replace(day=1)


def next_month(m: date) -> date:
    return date(m.year + 1, 1, 1) if m.month == 12 else date(m.year, m.month + 1, 1)


def month_end(m: date) -> datetime:
    """The first instant after month ``m`` (exclusive end)."""
    n = next_month(m)
    return datetime(n.year, n.month, n.day, tzinfo=UTC)


def week_range(dates: Iterable[date]) -> list[date]:
    """Every week_start from the earliest to the latest given week (dense)."""
    ds = list(dates)
    if not ds:
        return []
    out, w = [], min(ds)
    while w <= max(ds):
        out.append(w)
        w += timedelta(days=7)
    return out


def month_range(dates: Iterable[date]) -> list[date]:
    ds = list(dates)
    if not ds:
        return []
    out, m = [], min(ds)
    while m <= max(ds):
        out.append(m)
        m = next_month(m)
    return out


def team_key(team: str | None) -> str:
    """Fact tables say NULL; team-level tables call it 'unassigned'."""
    return team if team is not None else UNASSIGNED


def table_teams(team_names: Iterable[str], event_teams: Iterable[str | None]) -> list[str]:
    """The teams of a dense team-level table: every catalog team and 'all', plus
    'unassigned' when any of the table's events maps to no team."""
    teams = [*team_names, ALL]
    if any(t is None for t in event_teams):
        teams.append(UNASSIGNED)
    return teams


def bucket(
    rows: Iterable[Record], period: Callable[[Record], date | None]
) -> dict[tuple[date, str], list[Record]]:
    """Group rows by (period, team) and (period, 'all')."""
    out: dict[tuple[date, str], list[Record]] = defaultdict(list)
    for r in rows:
        p = period(r)
        if p is None:
            continue
        out[(p, team_key(r["team"]))].append(r)
        out[(p, ALL)].append(r)
    return out


def as_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


# --- team resolution -------------------------------------------------------------------


class Teams:
    """Catalog lookups: repo -> team, service -> team, person -> engineer (team)."""

    def __init__(self, catalog: Catalog, users: Iterable[Record] = ()):
        self.names = [t.name for t in catalog.teams]
        self.repo: dict[str, str] = {}
        self.service: dict[str, str] = {}
        self.login: dict[str, str] = {}
        self.pd_id: dict[str, str] = {}  # pagerduty id -> github login of the member
        email_only: dict[str, str] = {}  # e-mail of a member without a pagerduty id -> login
        for t in catalog.teams:
            for r in t.repos:
                self.repo.setdefault(r, t.name)
            for s in t.services:
                self.service.setdefault(s, t.name)
            for m in t.members:
                self.login.setdefault(m.github, t.name)
                if m.pagerduty:
                    self.pd_id.setdefault(m.pagerduty, m.github)
                elif m.email:
                    email_only.setdefault(m.email.lower(), m.github)
        for u in users:
            if u["id"] not in self.pd_id and (u.get("email") or "").lower() in email_only:
                self.pd_id[u["id"]] = email_only[u["email"].lower()]

    def of_repo(self, repo: str) -> str | None:
        return self.repo.get(repo)

    def of_service(self, service_id: str) -> str | None:
        return self.service.get(service_id)

    def author_engineer(self, login: str) -> tuple[str, str]:
        """(engineer key, team key) of a PR author."""
        if login in self.login:
            return f"member:{login}", self.login[login]
        return f"github:{login}", UNASSIGNED

    def responder_engineer(self, user_id: str) -> tuple[str, str]:
        """(engineer key, team key) of a PagerDuty responder."""
        login = self.pd_id.get(user_id)
        if login is not None:
            return f"member:{login}", self.login[login]
        return f"pagerduty:{user_id}", UNASSIGNED
