"""The truth of ``marts/delivery``: production deployments (``fct_deployments``), with
rollbacks, shipped commits and incident attribution; the changes they ship
(``fct_changes``); and the weekly delivery figures (``kpi_delivery_weekly``).

The delivery figures are written once here; the scorecard sums the same function monthly.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from platform_kpis.catalog import Catalog
from simulator.truth.common import (
    UNCLASSIFIED,
    Record,
    Teams,
    bucket,
    hours_between,
    percentile_cont,
    ratio,
    table_teams,
    week_start,
)

ROLLBACK_WORD = re.compile("rollback", re.IGNORECASE)


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


# --- weekly delivery ---------------------------------------------------------------------


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
