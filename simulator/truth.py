"""The KPI ground truth: every published mart table, computed in plain Python from the
simulator's own generated model (its events), as of ``now``.

It shares no code with the extractors or the dbt SQL and never reads the API renderings.
The rules follow ``docs/kpis.md``; each KPI rule is one small function named after
it, over plain records (dicts), so tests can feed hand-made inputs. A thin adapter
(:func:`records_from_models`) turns the simulator's models into those records, applying
"as of now": only events at or before ``now`` exist.

Where the rules leave a choice, it makes the numbered readings of ``docs/kpis.md``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from platform_kpis.catalog import Catalog, parse_catalog
from platform_kpis.kpis import SCORECARD_KPIS

ALL = "all"
UNASSIGNED = "unassigned"
UNCLASSIFIED = "unclassified"
CATEGORIES = ("roadmap", "platform", "unplanned")
ROLLBACK_WORD = re.compile("rollback", re.IGNORECASE)
HOURS_PER_FTE_WEEK = 40.0
COVERAGE_METRICS = (
    "deployments_compare_linked",
    "changes_deployed",
    "incidents_team_mapped",
    "prs_classified",
    "authors_mapped",
)
TABLES = (
    "fct_deployments",
    "fct_changes",
    "fct_incidents",
    "fct_tickets",
    "kpi_delivery_weekly",
    "kpi_incidents_weekly",
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_cost_to_serve_monthly",
    "mart_capacity_allocation",
    "kpi_scorecard",
    "kpi_coverage",
    "mart_platform_bets",
)

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


# --- delivery: production deployments ---------------------------------------------------


def is_production(environment: str | None, pattern: str) -> bool:
    return bool(environment) and re.search(pattern, environment) is not None


def production_deployments(
    deployments: Iterable[Record],
    runs: Iterable[Record],
    catalog: Catalog,
    default_branches: dict[str, str],
) -> list[Record]:
    """The production deployments by each repository's deployment signal.

    ``deployments``: GitHub deployments {deployment_id, repo, environment, sha, task,
    description, created_at, deployed_at (first success status, None)}.
    ``runs``: completed workflow runs {run_id, repo, name, head_branch, head_sha,
    run_started_at, updated_at, conclusion}."""
    out: list[Record] = []
    for d in deployments:
        signal = catalog.repo_settings(d["repo"]).deployment_signal
        if signal == "deployments" and is_production(
            d["environment"], catalog.production_environment_pattern
        ):
            out.append(
                {
                    k: d.get(k)
                    for k in (
                        "deployment_id",
                        "repo",
                        "environment",
                        "sha",
                        "task",
                        "description",
                        "created_at",
                        "deployed_at",
                    )
                }
            )
    for r in runs:
        settings = catalog.repo_settings(r["repo"])
        if (
            settings.deployment_signal == "workflow_runs"
            and r["head_branch"] == default_branches.get(r["repo"], "main")
            and re.search(settings.workflow_pattern, r["name"] or "")
        ):
            out.append(
                {
                    "deployment_id": r["run_id"],
                    "repo": r["repo"],
                    "environment": "production",
                    "sha": r["head_sha"],
                    "task": None,
                    "description": None,
                    "created_at": r["run_started_at"],
                    "deployed_at": r["updated_at"] if r["conclusion"] == "success" else None,
                }
            )
    return out


def deploy_order(d: Record) -> tuple[datetime, int]:
    """Order by deployed_at; ties: the larger id is the later."""
    return d["deployed_at"], d["deployment_id"]


def says_rollback(d: Record) -> bool:
    return any(ROLLBACK_WORD.search(d.get(k) or "") for k in ("task", "description"))


def detect_rollbacks(successful: list[Record]) -> tuple[dict[int, bool], set[int]]:
    """Rollback rule over ONE repository + environment's successful deployments.

    Returns ({deployment_id: is_rollback}, {ids of rolled back deployments})."""
    deps = sorted(successful, key=deploy_order)
    is_rollback: dict[int, bool] = {}
    retries: set[int] = set()
    rolled_back: set[int] = set()
    for k, e in enumerate(deps):
        eid = e["deployment_id"]
        if k > 0 and e["sha"] == deps[k - 1]["sha"]:  # a retry: neither
            retries.add(eid)
            is_rollback[eid] = False
            continue
        last_real = next((d for d in reversed(deps[:k]) if d["deployment_id"] not in retries), None)
        match = next((j for j in range(k - 1, -1, -1) if deps[j]["sha"] == e["sha"]), None)
        explicit = says_rollback(e)
        if last_real is not None and is_rollback[last_real["deployment_id"]]:
            rollback = explicit  # a roll-forward is a rollback only when it says so
        else:
            rollback = explicit or match is not None
        is_rollback[eid] = rollback
        if not rollback:
            continue
        victims = deps[match + 1 : k] if match is not None else [last_real] if last_real else []
        for d in victims:
            did = d["deployment_id"]
            if not is_rollback[did] and did not in retries:
                rolled_back.add(did)
    return is_rollback, rolled_back


def linear_history(
    main: list[str], branches: dict[str, tuple[int, tuple[str, ...]]] | None = None
) -> Record:
    """A repository's commit graph: ``main`` shas oldest first; ``branches``: sha of a commit
    off main -> (index of the main commit it forks from, branch shas up to and including
    it). Only commits known (committed) as of now belong here."""
    return {
        "main": list(main),
        "index": {s: i for i, s in enumerate(main)},
        "branches": dict(branches or {}),
    }


def compare_commits(history: Record, base: str, head: str) -> list[str] | None:
    """GitHub's compare ``base...head``: the commits reachable from head and not from base;
    None where GitHub answers 404 (a sha it does not know)."""

    def position(sha: str) -> tuple[int, tuple[str, ...]] | None:
        if sha in history["index"]:
            return history["index"][sha], ()
        return history["branches"].get(sha)

    b, h = position(base), position(head)
    if b is None or h is None:
        return None
    (fb, cb), (fh, ch) = b, h
    shared = 0
    while shared < min(len(cb), len(ch)) and cb[shared] == ch[shared]:
        shared += 1
    return history["main"][fb + 1 : fh + 1] + list(ch[shared:])


def shipped_commits(
    successful: list[Record], histories: dict[str, Record]
) -> dict[int, list[str] | None]:
    """Shipped commits of each successful production deployment: the compare from the
    previous successful deployment of the same repository + environment; None for the
    first one and where the compare is a 404."""
    out: dict[int, list[str] | None] = {}
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for d in successful:
        groups[(d["repo"], d["environment"])].append(d)
    for (repo, _), deps in groups.items():
        deps = sorted(deps, key=deploy_order)
        out[deps[0]["deployment_id"]] = None
        history = histories.get(repo) or linear_history([])
        for p, d in zip(deps, deps[1:], strict=False):
            out[d["deployment_id"]] = compare_commits(history, p["sha"], d["sha"])
    return out


def attribute_incidents(
    incidents: list[Record], successful: list[Record], window_hours: float
) -> dict[str, int]:
    """Incident -> the latest successful production deployment of a repository of the
    incident's team with deployed_at in [created_at - window, created_at)."""
    by_team: dict[str, list[Record]] = defaultdict(list)
    for d in successful:
        if d["team"] is not None:
            by_team[d["team"]].append(d)
    window = timedelta(hours=window_hours)
    out: dict[str, int] = {}
    for inc in incidents:
        if inc["team"] is None:
            continue
        lo, hi = inc["created_at"] - window, inc["created_at"]
        candidates = [d for d in by_team[inc["team"]] if lo <= d["deployed_at"] < hi]
        if candidates:
            out[inc["incident_id"]] = max(candidates, key=deploy_order)["deployment_id"]
    return out


def failure_reason(rolled_back: bool, incident_id: str | None) -> str | None:
    if rolled_back and incident_id is not None:
        return "rollback_and_incident"
    if rolled_back:
        return "rollback"
    return "incident" if incident_id is not None else None


def fct_deployments(
    deployments: list[Record],
    histories: dict[str, Record],
    incidents: list[Record],
    teams: Teams,
    window_hours: float,
) -> tuple[list[Record], dict[int, list[str] | None]]:
    """One row per production deployment; also the shipped commits per deployment id.

    ``incidents`` need {incident_id, team, created_at}."""
    rows = [{**d, "team": teams.of_repo(d["repo"])} for d in deployments]
    ok = [r for r in rows if r["deployed_at"] is not None]
    is_rollback: dict[int, bool] = {}
    rolled_back: set[int] = set()
    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for d in ok:
        groups[(d["repo"], d["environment"])].append(d)
    for deps in groups.values():
        flags, rolled = detect_rollbacks(deps)
        is_rollback.update(flags)
        rolled_back |= rolled
    attributed = attribute_incidents(incidents, ok, window_hours)
    first_incident: dict[int, str] = {}
    for inc in sorted(incidents, key=lambda i: (i["created_at"], i["incident_id"])):
        dep = attributed.get(inc["incident_id"])
        if dep is not None:
            first_incident.setdefault(dep, inc["incident_id"])
    out = []
    for r in sorted(rows, key=lambda r: r["deployment_id"]):
        did = r["deployment_id"]
        rb = did in rolled_back
        out.append(
            {
                "deployment_id": did,
                "repo": r["repo"],
                "team": r["team"],
                "environment": r["environment"],
                "sha": r["sha"],
                "created_at": r["created_at"],
                "deployed_at": r["deployed_at"],
                "succeeded": r["deployed_at"] is not None,
                "is_rollback": is_rollback.get(did, False),
                "rolled_back": rb,
                "incident_id": first_incident.get(did),
                "failure_reason": failure_reason(rb, first_incident.get(did)),
            }
        )
    return out, shipped_commits(ok, histories)


# --- delivery: changes -------------------------------------------------------------------


def pr_category(pr: Record, catalog: Catalog) -> str:
    """Revert/hotfix titles and hotfix/ branches are unplanned; otherwise the labels'
    categories by priority; otherwise unclassified."""
    title = (pr.get("title") or "").lower()
    if (
        title.startswith("revert")
        or title.startswith("hotfix")
        or (pr.get("head_ref") or "").lower().startswith("hotfix/")
    ):
        return "unplanned"
    found = {catalog.labels[name] for name in pr.get("labels") or () if name in catalog.labels}
    return next((c for c in catalog.priority if c in found), UNCLASSIFIED)


def first_commit_at(pr: Record) -> datetime:
    """The earliest author date of the PR's commits (its created_at when it has none)."""
    return min(pr.get("commit_dates") or [pr["created_at"]])


def is_change(pr: Record, default_branches: dict[str, str]) -> bool:
    return pr["merged_at"] is not None and pr["base_ref"] == default_branches.get(
        pr["repo"], "main"
    )


def attribute_change(
    pr: Record, successful_of_repo: list[Record], shipped: dict[int, list[str] | None]
) -> tuple[Record | None, str | None]:
    """(deployment, 'compare' | 'time') deploying a change, or (None, None)."""
    by_compare = [
        d
        for d in successful_of_repo
        if pr["merge_commit_sha"] in (shipped.get(d["deployment_id"]) or ())
    ]
    if by_compare:
        return min(by_compare, key=deploy_order), "compare"
    by_time = [d for d in successful_of_repo if d["deployed_at"] >= pr["merged_at"]]
    if by_time:
        return min(by_time, key=deploy_order), "time"
    return None, None


def fct_changes(
    pulls: list[Record],
    deployments: list[Record],
    shipped: dict[int, list[str] | None],
    teams: Teams,
    catalog: Catalog,
    default_branches: dict[str, str],
) -> list[Record]:
    """One row per change (PR merged into the default branch), with its lead time."""
    by_repo: dict[str, list[Record]] = defaultdict(list)
    for d in deployments:
        if d["succeeded"]:
            by_repo[d["repo"]].append(d)
    rows = []
    for pr in pulls:
        if not is_change(pr, default_branches):
            continue
        dep, attribution = attribute_change(pr, by_repo[pr["repo"]], shipped)
        first = first_commit_at(pr)
        deployed_at = dep["deployed_at"] if dep else None
        rows.append(
            {
                "repo": pr["repo"],
                "team": teams.of_repo(pr["repo"]),
                "pr_number": pr["number"],
                "author": pr["author"],
                "first_commit_at": first,
                "created_at": pr["created_at"],
                "merged_at": pr["merged_at"],
                "deployed_at": deployed_at,
                "deployment_id": dep["deployment_id"] if dep else None,
                "attribution": attribution,
                "lead_time_hours": hours_between(first, deployed_at) if dep else None,
                "coding_hours": max(0.0, hours_between(first, pr["created_at"])),
                "review_hours": hours_between(pr["created_at"], pr["merged_at"]),
                "deploy_hours": hours_between(pr["merged_at"], deployed_at) if dep else None,
                "category": pr_category(pr, catalog),
            }
        )
    return sorted(rows, key=lambda r: (r["repo"], r["pr_number"]))


# --- incidents ---------------------------------------------------------------------------


def acknowledged_at(inc: Record) -> datetime | None:
    """The first acknowledge log entry."""
    acks = [e["created_at"] for e in inc["log_entries"] if e["type"] == "acknowledge_log_entry"]
    return min(acks, default=None)


def resolved_at(inc: Record) -> datetime | None:
    """A resolved incident's resolved_at field, or the first resolve log entry when that
    is null; None while unresolved."""
    if inc["status"] != "resolved":
        return None
    if inc.get("resolved_at") is not None:
        return inc["resolved_at"]
    resolves = [e["created_at"] for e in inc["log_entries"] if e["type"] == "resolve_log_entry"]
    return min(resolves, default=None)


def responder_first_acks(inc: Record) -> dict[str, datetime]:
    """Each acknowledging user's first acknowledgement."""
    out: dict[str, datetime] = {}
    for e in sorted(inc["log_entries"], key=lambda e: e["created_at"]):
        if e["type"] == "acknowledge_log_entry":
            out.setdefault(e["agent_id"], e["created_at"])
    return out


def ops_hours(time_to_resolve_hours: float | None, responders: int) -> float | None:
    """Time to resolve x max(1, responders); none for an unresolved incident."""
    if time_to_resolve_hours is None:
        return None
    return time_to_resolve_hours * max(1, responders)


def fct_incidents(incidents: list[Record], teams: Teams) -> list[Record]:
    rows = []
    for inc in incidents:
        ack, res = acknowledged_at(inc), resolved_at(inc)
        responders = len(responder_first_acks(inc))
        ttr = hours_between(inc["created_at"], res) if res else None
        rows.append(
            {
                "incident_id": inc["incident_id"],
                "service_id": inc["service_id"],
                "team": teams.of_service(inc["service_id"]),
                "urgency": inc["urgency"],
                "created_at": inc["created_at"],
                "acknowledged_at": ack,
                "resolved_at": res,
                "time_to_ack_minutes": minutes_between(inc["created_at"], ack) if ack else None,
                "time_to_resolve_hours": ttr,
                "responders": responders,
                "ops_hours": ops_hours(ttr, responders),
            }
        )
    return sorted(rows, key=lambda r: (r["created_at"], r["incident_id"]))


# --- support -----------------------------------------------------------------------------


def is_trust(tags: Iterable[str], trust_tags: Iterable[str]) -> bool:
    return bool(set(tags) & set(trust_tags))


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


# --- cost to serve -----------------------------------------------------------------------


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


# --- weekly delivery and incidents -------------------------------------------------------


def delivery_date(d: Record) -> datetime:
    """A successful deployment's deployed_at; a failed one's created_at."""
    return d["deployed_at"] if d["succeeded"] else d["created_at"]


def rollback_rate(rolled_back: int, non_rollback_deployments: int) -> float | None:
    return ratio(rolled_back, non_rollback_deployments)


def change_failure_rate(change_failures: int, non_rollback_deployments: int) -> float | None:
    return ratio(change_failures, non_rollback_deployments)


def delivery_figures(deps: list[Record], changes: list[Record]) -> Record:
    """The delivery figures over a set of production deployments (dated in the period) and
    the changes deployed in the period."""
    ok = [d for d in deps if d["succeeded"]]
    base = [d for d in ok if not d["is_rollback"]]
    rolled = sum(1 for d in base if d["rolled_back"])
    failures = sum(1 for d in base if d["rolled_back"] or d["incident_id"] is not None)
    lead = [c["lead_time_hours"] for c in changes]
    return {
        "deployments": len(ok),
        "failed_deployments": len(deps) - len(ok),
        "rollbacks": len(ok) - len(base),
        "rolled_back_deployments": rolled,
        "rollback_rate": rollback_rate(rolled, len(base)),
        "change_failures": failures,
        "change_failure_rate": change_failure_rate(failures, len(base)),
        "changes": len(changes),
        "lead_time_p50_hours": percentile_cont(lead, 0.5),
        "lead_time_p95_hours": percentile_cont(lead, 0.95),
        "n": len(changes),
        "non_rollback_deployments": len(base),
    }


def kpi_delivery_weekly(
    deployments: list[Record], changes: list[Record], weeks: list[date], team_names: list[str]
) -> list[Record]:
    deployed = [c for c in changes if c["deployed_at"] is not None]
    teams = table_teams(
        team_names, [d["team"] for d in deployments] + [c["team"] for c in deployed]
    )
    deps_by = bucket(deployments, lambda d: week_start(delivery_date(d)))
    changes_by = bucket(deployed, lambda c: week_start(c["deployed_at"]))
    rows = []
    for w in weeks:
        for team in teams:
            f = delivery_figures(deps_by.get((w, team), []), changes_by.get((w, team), []))
            f.pop("non_rollback_deployments")
            rows.append({"week_start": w, "team": team, **f})
    return sorted(rows, key=lambda r: (r["week_start"], r["team"]))


def incident_figures(incidents: list[Record], deployments: int) -> Record:
    resolved = [
        i["time_to_resolve_hours"] for i in incidents if i["time_to_resolve_hours"] is not None
    ]
    acked = [i["time_to_ack_minutes"] for i in incidents if i["time_to_ack_minutes"] is not None]
    per_100 = ratio(len(incidents), deployments)
    return {
        "incidents": len(incidents),
        "high_urgency_incidents": sum(1 for i in incidents if i["urgency"] == "high"),
        "resolved_incidents": len(resolved),
        "mttr_hours": mean(resolved),
        "ttr_p50_hours": percentile_cont(resolved, 0.5),
        "ttr_p95_hours": percentile_cont(resolved, 0.95),
        "mtta_minutes": mean(acked),
        "incidents_per_100_deployments": None if per_100 is None else per_100 * 100,
        "n": len(resolved),
    }


def kpi_incidents_weekly(
    incidents: list[Record], deployments: list[Record], weeks: list[date], team_names: list[str]
) -> list[Record]:
    teams = table_teams(team_names, [i["team"] for i in incidents])
    inc_by = bucket(incidents, lambda i: week_start(i["created_at"]))
    deps_by = bucket(
        [d for d in deployments if d["succeeded"]], lambda d: week_start(d["deployed_at"])
    )
    rows = [
        {
            "week_start": w,
            "team": team,
            **incident_figures(inc_by.get((w, team), []), len(deps_by.get((w, team), []))),
        }
        for w in weeks
        for team in teams
    ]
    return sorted(rows, key=lambda r: (r["week_start"], r["team"]))


# --- capacity ----------------------------------------------------------------------------


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


# --- scorecard and coverage --------------------------------------------------------------


def change_pct(value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / previous * 100


def capacity_share(
    effort: dict[tuple[date, str, str], float], month: date, category: str
) -> float | None:
    """The 'all' share of a category over the weeks whose week_start falls in the month."""
    in_month = {k: v for k, v in effort.items() if k[1] == ALL and month_start(k[0]) == month}
    return ratio(sum(v for k, v in in_month.items() if k[2] == category), sum(in_month.values()))


def scorecard_values(
    month: date,
    deployments: list[Record],
    changes: list[Record],
    incidents: list[Record],
    support: Record,
    cost: Record,
    effort: dict[tuple[date, str, str], float],
) -> dict[str, tuple[float | None, int | None]]:
    """kpi -> (value, n) for one month, org-wide."""
    deps = [d for d in deployments if d["succeeded"] and month_start(d["deployed_at"]) == month]
    deployed = [
        c
        for c in changes
        if c["deployed_at"] is not None and month_start(c["deployed_at"]) == month
    ]
    f = delivery_figures(deps, deployed)
    incs = [i for i in incidents if month_start(i["created_at"]) == month]
    g = incident_figures(incs, 0)
    base = f["non_rollback_deployments"]
    values: dict[str, tuple[float | None, int | None]] = {
        "lead_time_p50_hours": (f["lead_time_p50_hours"], f["n"]),
        "lead_time_p95_hours": (f["lead_time_p95_hours"], f["n"]),
        "deployments": (float(f["deployments"]), f["deployments"]),
        "rollback_rate": (f["rollback_rate"], base),
        "change_failure_rate": (f["change_failure_rate"], base),
        "incidents": (float(g["incidents"]), g["incidents"]),
        "mttr_hours": (g["mttr_hours"], g["resolved_incidents"]),
        "tickets_per_1k_customers": (support["tickets_per_1k_customers"], support["tickets"]),
        "cost_per_customer": (cost["cost_per_customer"], None),
        "ops_cost_per_customer": (cost["ops_cost_per_customer"], None),
    }
    for c in CATEGORIES:
        values[f"{c}_share"] = (capacity_share(effort, month, c), None)
    return values


def kpi_scorecard(
    months: list[date],
    deployments: list[Record],
    changes: list[Record],
    incidents: list[Record],
    support: list[Record],
    cost: list[Record],
    effort: dict[tuple[date, str, str], float],
) -> list[Record]:
    support_by = {r["month_start"]: r for r in support}
    cost_by = {r["month_start"]: r for r in cost}
    rows = []
    previous: dict[str, float | None] = {}
    for m in months:
        values = scorecard_values(
            m, deployments, changes, incidents, support_by[m], cost_by[m], effort
        )
        for kpi in SCORECARD_KPIS:
            value, n = values[kpi]
            prev = previous.get(kpi)
            rows.append(
                {
                    "month_start": m,
                    "kpi": kpi,
                    "value": value,
                    "previous_value": prev,
                    "change_pct": change_pct(value, prev),
                    "n": n,
                }
            )
            previous[kpi] = value
    return rows


def coverage_row(metric: str, covered: int, total: int) -> Record:
    return {"metric": metric, "covered": covered, "total": total, "share": ratio(covered, total)}


def kpi_coverage(
    deployments: list[Record],
    shipped: dict[int, list[str] | None],
    changes: list[Record],
    incidents: list[Record],
    merged_prs: list[Record],
    teams: Teams,
) -> list[Record]:
    ok = [d for d in deployments if d["succeeded"]]
    return [
        coverage_row(
            "deployments_compare_linked",
            sum(1 for d in ok if shipped.get(d["deployment_id"]) is not None),
            len(ok),
        ),
        coverage_row(
            "changes_deployed",
            sum(1 for c in changes if c["deployment_id"] is not None),
            len(changes),
        ),
        coverage_row(
            "incidents_team_mapped",
            sum(1 for i in incidents if i["team"] is not None),
            len(incidents),
        ),
        coverage_row(
            "prs_classified",
            sum(1 for p in merged_prs if p["category"] != UNCLASSIFIED),
            len(merged_prs),
        ),
        coverage_row(
            "authors_mapped",
            sum(1 for p in merged_prs if p["author"] in teams.login),
            len(merged_prs),
        ),
    ]


# --- periods -------------------------------------------------------------------------------


def weekly_range(
    deployments: list[Record], changes: list[Record], incidents: list[Record]
) -> list[date]:
    """First to last week holding a production deployment, a deployed change or an
    incident."""
    return week_range(
        [week_start(delivery_date(d)) for d in deployments]
        + [week_start(c["deployed_at"]) for c in changes if c["deployed_at"]]
        + [week_start(i["created_at"]) for i in incidents]
    )


def monthly_range(
    tickets: list[Record],
    incidents: list[Record],
    deployments: list[Record],
    merged_prs: list[Record],
    billing: list[Record] | None,
) -> list[date]:
    live = [t for t in tickets if t["status"] != "deleted"]
    return month_range(
        [month_start(t["created_at"]) for t in live]
        + [month_start(t["solved_at"]) for t in live if t["solved_at"] is not None]
        + [month_start(i["created_at"]) for i in incidents]
        + [month_start(delivery_date(d)) for d in deployments]
        + [month_start(p["merged_at"]) for p in merged_prs]
        + [month_start(as_utc(b["ChargePeriodStart"])) for b in billing or ()]
    )


# --- the whole truth ---------------------------------------------------------------------


def kpi_truth_from_records(
    catalog: Catalog,
    records: Record,
    billing: list[Record] | None = None,
    *,
    as_of: datetime | None = None,
) -> dict[str, list[Record]]:
    """Every contract table from plain records (see :func:`records_from_models`).
    ``as_of``: the data's as-of time, which decides the complete periods (None: none is)."""
    # The decision layer's truth builds on this module's helpers, hence imported here.
    from simulator.truth_bets import mart_platform_bets
    from simulator.truth_decision import (
        kpi_support_themes_monthly,
        theme_scorecard,
        with_completeness,
    )

    teams = Teams(catalog, records["users"])
    branches = {name: r["default_branch"] for name, r in records["repos"].items()}
    histories = {name: r["history"] for name, r in records["repos"].items()}
    deployments = production_deployments(records["deployments"], records["runs"], catalog, branches)
    incidents = fct_incidents(records["incidents"], teams)
    deps, shipped = fct_deployments(
        deployments, histories, incidents, teams, catalog.incident_window_hours
    )
    merged = [p for p in records["pulls"] if p["merged_at"] is not None]
    changes = fct_changes(merged, deps, shipped, teams, catalog, branches)
    tickets = fct_tickets(records["tickets"], catalog)
    merged_prs = [{**p, "category": pr_category(p, catalog)} for p in merged]
    weeks = weekly_range(deps, changes, incidents)
    months = monthly_range(tickets, incidents, deps, merged_prs, billing)
    support = kpi_support_monthly(tickets, records["organizations"], months)
    cost = kpi_cost_to_serve_monthly(
        incidents, tickets, records["organizations"], months, catalog.hourly_cost, billing
    )
    effort = capacity_effort(merged_prs, records["incidents"], teams, catalog)
    themes = kpi_support_themes_monthly(
        records["tickets"], records["organizations"], months, catalog.ticket_themes
    )
    scorecard = kpi_scorecard(months, deps, changes, incidents, support, cost, effort)
    tables = {
        "fct_deployments": deps,
        "fct_changes": changes,
        "fct_incidents": incidents,
        "fct_tickets": tickets,
        "kpi_delivery_weekly": kpi_delivery_weekly(deps, changes, weeks, teams.names),
        "kpi_incidents_weekly": kpi_incidents_weekly(incidents, deps, weeks, teams.names),
        "kpi_support_monthly": support,
        "kpi_support_themes_monthly": themes,
        "kpi_cost_to_serve_monthly": cost,
        "mart_capacity_allocation": mart_capacity_allocation(effort, catalog),
        "kpi_scorecard": scorecard + theme_scorecard(themes),
        "kpi_coverage": kpi_coverage(deps, shipped, changes, incidents, merged_prs, teams),
    }
    with_completeness(tables, as_of)
    tables["mart_platform_bets"] = mart_platform_bets(catalog, tables, as_of)
    return tables


def records_from_models(
    github_model: Any, pagerduty_model: Any, zendesk_model: Any, now: datetime, catalog: Catalog
) -> Record:
    """The thin adapter: the simulator's models as plain records, as of ``now``."""
    repos, deployments, runs, pulls = {}, [], [], []
    for name, repo in github_model.repos.items():
        main = [c.sha for c in repo.main]
        on_main = set(main)
        branch = {
            sha: (c.fork_index or 0, tuple(c.chain))
            for sha, c in repo.commits.items()
            if sha not in on_main and c.committed_at <= now
        }
        known_main = [sha if repo.commits[sha].committed_at <= now else None for sha in main]
        history = linear_history(main, branch)
        # A main commit GitHub does not know yet (committed after now) cannot be compared.
        history["index"] = {s: i for i, s in enumerate(known_main) if s is not None}
        repos[name] = {"default_branch": repo.default_branch, "history": history}
        for d in repo.deployments:
            if d.created_at <= now:
                deployments.append(
                    {
                        "deployment_id": d.id,
                        "repo": name,
                        "environment": d.environment,
                        "sha": d.sha,
                        "task": d.task,
                        "description": d.description,
                        "created_at": d.created_at,
                        "deployed_at": d.deployed_at(now),
                    }
                )
        for r in repo.runs:
            if r.created_at <= now and r.status_at(now) == "completed":
                runs.append(
                    {
                        "run_id": r.id,
                        "repo": name,
                        "name": r.name,
                        "head_branch": r.head_branch,
                        "head_sha": r.head_sha,
                        "run_started_at": r.run_started_at,
                        "updated_at": r.updated_at(now),
                        "conclusion": r.conclusion,
                    }
                )
        for p in repo.pulls:
            if p.created_at <= now:
                pulls.append(
                    {
                        "repo": name,
                        "number": p.number,
                        "author": p.author,
                        "title": p.title,
                        "head_ref": p.head_ref,
                        "base_ref": p.base_ref,
                        "created_at": p.created_at,
                        "merged_at": p.merged_at if p.merged(now) else None,
                        "merge_commit_sha": p.merge_commit_sha if p.merged(now) else None,
                        "commit_dates": [c.authored_at for c in p.commits],
                        "labels": p.labels_at(now),
                    }
                )
    incidents = []
    for inc in pagerduty_model.incidents:
        if inc.created_at > now:
            continue
        status = inc.status_at(now)
        incidents.append(
            {
                "incident_id": inc.id,
                "service_id": inc.service_id,
                "urgency": inc.urgency,
                "created_at": inc.created_at,
                "status": status,
                "resolved_at": inc.resolved_at
                if status == "resolved" and not inc.resolved_at_null
                else None,
                "log_entries": [
                    {"type": e.type, "created_at": e.created_at, "agent_id": e.agent_id}
                    for e in inc.log_entries
                    if e.created_at <= now
                ],
            }
        )
    users = [{"id": u.id, "email": u.email} for u in pagerduty_model.users]
    field_id = catalog.handle_time_field_id
    tickets = [
        {
            "ticket_id": t.id,
            "organization_id": t.organization_id,
            "created_at": t.created_at,
            "solved_at": t.solved_at(now),
            "status": t.status_at(now),
            "type": t.type,
            "tags": t.tags_at(now),
            "handle_time_seconds": t.handle_time_seconds(now)
            if field_id is not None and t.handle_field_id == field_id
            else None,
        }
        for t in zendesk_model.tickets
        if t.created_at <= now
    ]
    organizations = [
        {"id": o.id, "created_at": o.created_at}
        for o in zendesk_model.organizations
        if o.created_at <= now
    ]
    return {
        "repos": repos,
        "deployments": deployments,
        "runs": runs,
        "pulls": pulls,
        "incidents": incidents,
        "users": users,
        "tickets": tickets,
        "organizations": organizations,
    }


def kpi_truth(
    sim_or_models: Any,
    now: datetime | None = None,
    billing: list[Record] | None = None,
    catalog: dict | Catalog | None = None,
    as_of: datetime | None = None,
) -> dict[str, list[Record]]:
    """The ground truth of every contract table as of ``now``.

    ``sim_or_models``: a ``Simulator`` (its clock gives the default ``now``) or a tuple
    ``(org, github_model, pagerduty_model, zendesk_model)``. ``billing``: optional FOCUS
    rows ({ChargePeriodStart, BilledCost}); None means no billing export is configured.
    ``catalog``: defaults to ``org.catalog()``, the catalog the pipeline is configured
    with. ``as_of``: the data's as-of time; by default that of a sync at ``now``."""
    from simulator.truth_decision import as_of_from_clock

    if isinstance(sim_or_models, tuple):
        org, gh, pd, zd = sim_or_models
    else:
        sim = sim_or_models
        org, gh, pd, zd = sim.org, sim.github_model, sim.pagerduty_model, sim.zendesk_model
        if now is None:
            now = sim.clock.now()
    if now is None:
        now = org.now0
    if not isinstance(catalog, Catalog):
        catalog = parse_catalog(catalog if catalog is not None else org.catalog())
    return kpi_truth_from_records(
        catalog,
        records_from_models(gh, pd, zd, now, catalog),
        billing,
        as_of=as_of if as_of is not None else as_of_from_clock(now),
    )
