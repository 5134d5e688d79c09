"""What "as of" means for the truth, in its two places: the adapter
(:func:`records_from_models`) turns the simulator's models into plain records holding only
the events at or before ``now``, and the as-of time of a sync decides which weeks and months
are complete (``is_complete`` on every weekly and monthly table).

Readings:

1. The as-of time is the APIs' clock at the last successful sync, as their ``Date`` header
   shows it: whole seconds. The simulator's three APIs share one clock, and every source is
   synced at the same simulated instant, so the earliest across sources is that instant.
2. A week is complete when ``week_start + 7 days <= as_of``; a month when the first day of
   the next month ``<= as_of`` (a period ending exactly at the as-of time is complete).
   Without an as-of time (no successful sync) nothing is complete.
3. An incomplete scorecard row keeps its value and previous value; its ``change_pct`` is
   NULL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from platform_kpis.catalog import Catalog
from simulator.truth.common import Record, month_end
from simulator.truth.delivery import linear_history

WEEKLY_TABLES = ("kpi_delivery_weekly", "kpi_incidents_weekly", "mart_capacity_allocation")
MONTHLY_TABLES = (
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_cost_to_serve_monthly",
    "kpi_scorecard",
)


def as_of_from_clock(now: datetime) -> datetime:
    """The as-of time a sync at ``now`` records: the Date header has whole seconds."""
    return now.astimezone(UTC).replace(microsecond=0)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def week_is_complete(week_start: date, as_of: datetime | None) -> bool:
    return as_of is not None and _midnight(week_start) + timedelta(days=7) <= as_of


def month_is_complete(month_start: date, as_of: datetime | None) -> bool:
    return as_of is not None and month_end(month_start) <= as_of


def with_completeness(tables: dict[str, list[Record]], as_of: datetime | None) -> None:
    """Add ``is_complete`` to every weekly and monthly row; an incomplete scorecard month
    loses its ``change_pct``."""
    for name in WEEKLY_TABLES:
        for r in tables[name]:
            r["is_complete"] = week_is_complete(r["week_start"], as_of)
    for name in MONTHLY_TABLES:
        for r in tables[name]:
            r["is_complete"] = month_is_complete(r["month_start"], as_of)
    for r in tables["kpi_scorecard"]:
        if not r["is_complete"]:
            r["change_pct"] = None


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
