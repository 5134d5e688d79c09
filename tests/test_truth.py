"""The KPI ground truth (simulator/truth/): its tricky rules on small hand-made records,
with every expected figure written out, and invariants on a real simulated organisation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from platform_kpis.catalog import parse_catalog
from simulator import truth
from simulator.app import Simulator
from simulator.truth import (
    Teams,
    change_pct,
    detect_rollbacks,
    engineer_week_effort,
    kpi_truth,
    kpi_truth_from_records,
    linear_history,
    percentile_cont,
    pr_category,
    production_deployments,
    resolved_at,
    week_range,
)
from simulator.truth import as_of as truth_decision
from tests.conftest import SMALL

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
WEEK = date(2026, 1, 5)
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


CATALOG = parse_catalog(
    {
        "teams": [
            {
                "name": "alpha",
                "repos": ["acme/a"],
                "services": ["S1"],
                "members": [{"github": "dana", "pagerduty": "PU1"}],
            },
            {
                "name": "beta",
                "repos": ["acme/b"],
                "services": ["S2"],
                "members": [{"github": "omar", "email": "Omar@Example.org"}],
            },
        ],
        "budget": {
            "default": {"roadmap": 0.7, "platform": 0.2, "unplanned": 0.1},
            "overrides": {"alpha": {"roadmap": 0.5, "platform": 0.3, "unplanned": 0.2}},
        },
        "classification": {
            "labels": {"feature": "roadmap", "tech-debt": "platform", "bug": "unplanned"}
        },
        "repositories": {"acme/b": {"deployment_signal": "workflow_runs"}},
        "settings": {"handle_time_field_id": 1},
    }
)


def dep(
    did: int, sha: str, minutes: float, task: str | None = None, description: str | None = None
) -> dict:
    """A successful deployment of acme/a to production, deployed T0 + minutes."""
    return {
        "deployment_id": did,
        "repo": "acme/a",
        "environment": "production",
        "sha": sha,
        "task": task,
        "description": description,
        "created_at": at(minutes=minutes - 5),
        "deployed_at": at(minutes=minutes),
    }


def rollbacks(deps: list[dict]) -> tuple[list[int], list[int]]:
    flags, rolled = detect_rollbacks(deps)
    return sorted(i for i, f in flags.items() if f), sorted(rolled)


# --- percentiles and periods -------------------------------------------------------------


def test_percentiles_interpolate_linearly():
    assert percentile_cont([4, 1, 3, 2], 0.5) == 2.5
    assert percentile_cont([1, 2, 3, 4], 0.95) == pytest.approx(3.85, abs=1e-12)
    assert percentile_cont([7.25], 0.5) == percentile_cont([7.25], 0.95) == 7.25
    assert percentile_cont([], 0.5) is None


def test_week_range_is_dense():
    assert week_range([date(2026, 1, 19), date(2026, 1, 5)]) == [
        date(2026, 1, 5),
        date(2026, 1, 12),
        date(2026, 1, 19),
    ]
    assert truth.week_start(datetime(2026, 1, 11, 23, 59, tzinfo=UTC)) == date(2026, 1, 5)
    assert truth.week_start(datetime(2026, 1, 12, 0, 0, tzinfo=UTC)) == date(2026, 1, 12)


def test_change_pct_is_relative_and_null_safe():
    assert change_pct(0.3, 0.2) == pytest.approx(50.0)
    assert change_pct(1.0, 0.0) is None
    assert change_pct(None, 2.0) is None
    assert change_pct(2.0, None) is None


# --- rollbacks ---------------------------------------------------------------------------


def test_rollback_to_a_sha_two_deployments_back():
    deps = [dep(1, "x", 0), dep(2, "a", 60), dep(3, "b", 120), dep(4, "a", 180)]
    assert rollbacks(deps) == ([4], [3])


def test_rollback_past_several_deployments_rolls_back_each():
    deps = [dep(1, "a", 0), dep(2, "b", 60), dep(3, "c", 120), dep(4, "a", 180)]
    assert rollbacks(deps) == ([4], [2, 3])


def test_explicit_rollback_without_an_earlier_sha():
    # A revert commit deployed with a description that says rollback.
    deps = [
        dep(1, "a", 0),
        dep(2, "b", 60),
        dep(3, "c", 120, description="Rollback: revert of cache layer (c)"),
    ]
    assert rollbacks(deps) == ([3], [2])
    deps = [dep(1, "a", 0), dep(2, "b", 60), dep(3, "c", 120, task="deploy:ROLLBACK")]
    assert rollbacks(deps) == ([3], [2])


def test_explicit_rollback_to_an_earlier_sha():
    deps = [
        dep(1, "a", 0),
        dep(2, "b", 60),
        dep(3, "c", 120),
        dep(4, "b", 180, task="deploy:rollback", description="Rollback to b"),
    ]
    assert rollbacks(deps) == ([4], [3])


def test_retry_is_neither_rollback_nor_rolled_back():
    deps = [dep(1, "a", 0), dep(2, "b", 60), dep(3, "b", 70)]
    assert rollbacks(deps) == ([], [])
    deps.append(dep(4, "a", 180))  # rolls back b, not its retry
    assert rollbacks(deps) == ([4], [2])
    # A retry that says rollback is still a retry.
    assert rollbacks([dep(1, "a", 0), dep(2, "a", 10, task="deploy:rollback")]) == ([], [])


def test_roll_forward_after_a_rollback_is_not_a_rollback():
    deps = [dep(1, "a", 0), dep(2, "b", 60), dep(3, "a", 120), dep(4, "b", 300)]
    assert rollbacks(deps) == ([3], [2])
    # ... also when a retry of the rollback sits between them
    deps = [dep(1, "a", 0), dep(2, "b", 60), dep(3, "a", 120), dep(4, "a", 130), dep(5, "b", 300)]
    assert rollbacks(deps) == ([3], [2])
    # ... unless it says so explicitly
    deps = [
        dep(1, "a", 0),
        dep(2, "b", 60),
        dep(3, "a", 120),
        dep(4, "b", 300, description="Rollback to b"),
    ]
    assert rollbacks(deps) == ([3, 4], [2])


def test_ties_on_deployed_at_break_by_the_larger_id():
    deps = [dep(1, "a", 0), dep(3, "a", 60), dep(2, "b", 60)]
    # order: 1 (a), 2 (b), 3 (a): 3 rolls back 2
    assert rollbacks(deps) == ([3], [2])


# --- the whole pipeline on a small hand-made organisation -------------------------------


def scenario() -> dict:
    """Repo acme/a (alpha) on main a -> b; three successful production deployments (the
    third a rollback), one failed, one to staging; incidents I1 (two responders), I2
    (open, never acknowledged), I3 (unmapped service, resolved_at null); PRs by a member
    and an outsider; tickets in January (no customers yet) and February."""
    deployments = [
        dep(1, "a", 10),
        dep(2, "b", 70),
        dep(3, "a", 190),
        {**dep(4, "b", 305), "deployed_at": None},  # only failure statuses
        {**dep(5, "b", 370), "environment": "staging"},
    ]
    pulls = [
        {
            "repo": "acme/a",
            "number": 1,
            "author": "dana",
            "title": "Add checkout flow",
            "head_ref": "feature/x",
            "base_ref": "main",
            "created_at": at(-2),
            "merged_at": at(0, 30),
            "merge_commit_sha": "b",
            "commit_dates": [at(-4), at(-5)],
            "labels": ["feature"],
        },
        {
            "repo": "acme/a",
            "number": 2,
            "author": "stranger",
            "title": 'Revert "Add checkout flow"',
            "head_ref": "revert-x",
            "base_ref": "main",
            "created_at": at(1, 30),
            "merged_at": at(2),
            "merge_commit_sha": "zzz",
            "commit_dates": [at(1)],
            "labels": [],
        },
        {
            "repo": "acme/a",
            "number": 3,
            "author": "dana",
            "title": "Fix login form",
            "head_ref": "hotfix/login",
            "base_ref": "release/2026.01",
            "created_at": at(3),
            "merged_at": at(4),
            "merge_commit_sha": "rel",
            "commit_dates": [at(3)],
            "labels": [],
        },
        {
            "repo": "acme/a",
            "number": 4,
            "author": "dana",
            "title": "Open one",
            "head_ref": "feature/y",
            "base_ref": "main",
            "created_at": at(3),
            "merged_at": None,
            "merge_commit_sha": None,
            "commit_dates": [at(3)],
            "labels": ["bug"],
        },
    ]

    def entry(kind: str, when: datetime, agent: str = "SVC") -> dict:
        return {"type": f"{kind}_log_entry", "created_at": when, "agent_id": agent}

    incidents = [
        {
            "incident_id": "I1",
            "service_id": "S1",
            "urgency": "high",
            "created_at": at(2),
            "status": "resolved",
            "resolved_at": at(3),
            "log_entries": [
                entry("trigger", at(2)),
                entry("acknowledge", at(2, 15), "PU1"),
                entry("acknowledge", at(2, 30), "PU9"),
                entry("acknowledge", at(2, 40), "PU1"),
                entry("resolve", at(3)),
            ],
        },
        {
            "incident_id": "I2",
            "service_id": "S1",
            "urgency": "low",
            "created_at": at(3, 30),
            "status": "triggered",
            "resolved_at": None,
            "log_entries": [entry("trigger", at(3, 30))],
        },
        {
            "incident_id": "I3",
            "service_id": "SX",
            "urgency": "high",
            "created_at": at(4),
            "status": "resolved",
            "resolved_at": None,  # the field is null
            "log_entries": [
                entry("trigger", at(4)),
                entry("resolve", at(6)),
                entry("resolve", at(7)),
            ],
        },
    ]
    tickets = [
        {
            "ticket_id": 1,
            "organization_id": None,
            "created_at": datetime(2026, 1, 10, tzinfo=UTC),
            "solved_at": datetime(2026, 1, 11, tzinfo=UTC),
            "status": "solved",
            "type": "question",
            "tags": ["api", "data_quality"],
            "handle_time_seconds": 1800,
        },
        {
            "ticket_id": 2,
            "organization_id": None,
            "created_at": datetime(2026, 1, 12, tzinfo=UTC),
            "solved_at": datetime(2026, 1, 12, 12, tzinfo=UTC),
            "status": "deleted",
            "type": None,
            "tags": ["data_mismatch"],
            "handle_time_seconds": 3600,
        },
        {
            "ticket_id": 3,
            "organization_id": 100,
            "created_at": datetime(2026, 2, 3, tzinfo=UTC),
            "solved_at": None,
            "status": "open",
            "type": "problem",
            "tags": [],
            "handle_time_seconds": None,
        },
    ]
    return {
        "repos": {"acme/a": {"default_branch": "main", "history": linear_history(["a", "b"])}},
        "deployments": deployments,
        "runs": [],
        "pulls": pulls,
        "incidents": incidents,
        "users": [
            {"id": "PU1", "email": "dana@example.org"},
            {"id": "PU9", "email": "omar@example.org"},
        ],
        "tickets": tickets,
        "organizations": [{"id": 100, "created_at": datetime(2026, 2, 1, 12, tzinfo=UTC)}],
    }


# The sync that saw the scenario: February ended exactly then, so it is complete.
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def small() -> dict:
    return kpi_truth_from_records(CATALOG, scenario(), as_of=AS_OF)


def row(rows: list[dict], **key) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(found) == 1, (key, found)
    return found[0]


def test_fct_deployments_flags(small):
    deps = {r["deployment_id"]: r for r in small["fct_deployments"]}
    assert sorted(deps) == [1, 2, 3, 4]  # staging is not a production deployment
    assert {
        k: deps[1][k]
        for k in ("is_rollback", "rolled_back", "incident_id", "failure_reason", "team")
    } == {
        "is_rollback": False,
        "rolled_back": False,
        "incident_id": None,
        "failure_reason": None,
        "team": "alpha",
    }
    # rolled back AND the incident I1 (created 50 min after it) is attributed to it
    assert (deps[2]["rolled_back"], deps[2]["incident_id"], deps[2]["failure_reason"]) == (
        True,
        "I1",
        "rollback_and_incident",
    )
    # the rollback gets I2 (created 20 min after it): reason incident, outside every rate
    assert (deps[3]["is_rollback"], deps[3]["incident_id"], deps[3]["failure_reason"]) == (
        True,
        "I2",
        "incident",
    )
    failed = deps[4]
    assert (
        failed["succeeded"],
        failed["deployed_at"],
        failed["is_rollback"],
        failed["rolled_back"],
        failed["incident_id"],
        failed["failure_reason"],
    ) == (False, None, False, False, None, None)


def test_delivery_weekly(small):
    rows = small["kpi_delivery_weekly"]
    assert {(r["week_start"], r["team"]) for r in rows} == {
        (WEEK, "alpha"),
        (WEEK, "beta"),
        (WEEK, "all"),
    }
    alpha = row(rows, team="alpha")
    assert {
        k: alpha[k]
        for k in (
            "deployments",
            "failed_deployments",
            "rollbacks",
            "rolled_back_deployments",
            "change_failures",
            "changes",
            "n",
        )
    } == {
        "deployments": 3,
        "failed_deployments": 1,
        "rollbacks": 1,
        "rolled_back_deployments": 1,
        "change_failures": 1,
        "changes": 2,
        "n": 2,
    }
    # denominators: deployments 1 and 2 (the rollback is outside); deployment 2 is both
    # rolled back and failed by an incident: it counts once
    assert alpha["rollback_rate"] == 0.5
    assert alpha["change_failure_rate"] == 0.5
    assert alpha["lead_time_p50_hours"] == pytest.approx(4.166666666666667, abs=1e-9)
    assert alpha["lead_time_p95_hours"] == pytest.approx(5.966666666666667, abs=1e-9)
    assert row(rows, team="all") | {"team": "alpha"} == alpha
    beta = row(rows, team="beta")
    assert (beta["deployments"], beta["failed_deployments"], beta["changes"], beta["n"]) == (
        0,
        0,
        0,
        0,
    )
    assert (
        beta["rollback_rate"],
        beta["change_failure_rate"],
        beta["lead_time_p50_hours"],
        beta["lead_time_p95_hours"],
    ) == (None,) * 4


def test_changes_compare_and_time_attribution(small):
    c1 = row(small["fct_changes"], pr_number=1)
    assert (c1["deployment_id"], c1["attribution"], c1["team"], c1["category"]) == (
        2,
        "compare",
        "alpha",
        "roadmap",
    )
    assert c1["first_commit_at"] == at(-5)
    assert c1["lead_time_hours"] == pytest.approx(6.166666666666667, abs=1e-9)
    assert c1["coding_hours"] == pytest.approx(3.0)
    assert c1["review_hours"] == pytest.approx(2.5)
    assert c1["deploy_hours"] == pytest.approx(0.6666666666666666, abs=1e-9)
    # merge sha in no compare: the first deployment at or after the merge (the rollback)
    c2 = row(small["fct_changes"], pr_number=2)
    assert (c2["deployment_id"], c2["attribution"], c2["team"], c2["category"]) == (
        3,
        "time",
        "alpha",
        "unplanned",
    )
    assert c2["lead_time_hours"] == pytest.approx(2.1666666666666665, abs=1e-9)
    assert c2["coding_hours"] == pytest.approx(0.5)
    assert c2["deploy_hours"] == pytest.approx(1.1666666666666667, abs=1e-9)
    # the release-branch PR and the open PR are not changes
    assert sorted(r["pr_number"] for r in small["fct_changes"]) == [1, 2]


def test_incident_facts(small):
    i1, i2, i3 = (row(small["fct_incidents"], incident_id=i) for i in ("I1", "I2", "I3"))
    assert (
        i1["team"],
        i1["acknowledged_at"],
        i1["time_to_ack_minutes"],
        i1["time_to_resolve_hours"],
        i1["responders"],
        i1["ops_hours"],
    ) == ("alpha", at(2, 15), 15.0, 1.0, 2, 2.0)
    # never acknowledged and unresolved: counts in frequency only, no ops hours
    assert (
        i2["acknowledged_at"],
        i2["time_to_ack_minutes"],
        i2["resolved_at"],
        i2["time_to_resolve_hours"],
        i2["responders"],
        i2["ops_hours"],
    ) == (None, None, None, None, 0, None)
    # resolved_at null: the first resolve log entry; no acknowledgement: ops = TTR x 1
    assert (
        i3["team"],
        i3["resolved_at"],
        i3["time_to_resolve_hours"],
        i3["responders"],
        i3["ops_hours"],
        i3["time_to_ack_minutes"],
    ) == (None, at(6), 2.0, 0, 2.0, None)


def test_resolved_at_rule_directly():
    base = {
        "status": "resolved",
        "resolved_at": None,
        "log_entries": [
            {"type": "resolve_log_entry", "created_at": at(5), "agent_id": "u"},
            {"type": "resolve_log_entry", "created_at": at(4), "agent_id": "u"},
        ],
    }
    assert resolved_at(base) == at(4)
    assert resolved_at({**base, "resolved_at": at(3)}) == at(3)
    assert resolved_at({**base, "status": "acknowledged"}) is None


def test_incidents_weekly(small):
    rows = small["kpi_incidents_weekly"]
    assert {r["team"] for r in rows} == {"alpha", "beta", "all", "unassigned"}
    alpha = row(rows, team="alpha")
    assert (
        alpha["incidents"],
        alpha["high_urgency_incidents"],
        alpha["resolved_incidents"],
        alpha["mttr_hours"],
        alpha["ttr_p50_hours"],
        alpha["ttr_p95_hours"],
        alpha["mtta_minutes"],
        alpha["n"],
    ) == (2, 1, 1, 1.0, 1.0, 1.0, 15.0, 1)
    assert alpha["incidents_per_100_deployments"] == pytest.approx(66.66666666666666)
    al = row(rows, team="all")
    assert (
        al["incidents"],
        al["high_urgency_incidents"],
        al["resolved_incidents"],
        al["mttr_hours"],
        al["ttr_p50_hours"],
        al["mtta_minutes"],
        al["n"],
    ) == (3, 2, 2, 1.5, 1.5, 15.0, 2)
    assert al["ttr_p95_hours"] == pytest.approx(1.95, abs=1e-12)
    assert al["incidents_per_100_deployments"] == pytest.approx(100.0)
    un = row(rows, team="unassigned")
    assert (
        un["incidents"],
        un["mttr_hours"],
        un["mtta_minutes"],
        un["incidents_per_100_deployments"],
        un["n"],
    ) == (1, 2.0, None, None, 1)
    beta = row(rows, team="beta")
    assert (
        beta["incidents"],
        beta["mttr_hours"],
        beta["incidents_per_100_deployments"],
        beta["n"],
    ) == (0, None, None, 0)


def test_tickets_support_and_cost(small):
    t = {r["ticket_id"]: r for r in small["fct_tickets"]}
    assert (t[1]["is_trust"], t[1]["handle_hours"]) == (True, 0.5)
    assert (t[2]["status"], t[2]["is_trust"], t[2]["handle_hours"]) == ("deleted", True, 1.0)
    assert (t[3]["is_trust"], t[3]["handle_hours"]) == (False, None)
    support = {r["month_start"]: r for r in small["kpi_support_monthly"]}
    assert sorted(support) == [JAN, FEB]
    # January: one live ticket (the deleted one does not count), no customers yet
    assert support[JAN] == {
        "month_start": JAN,
        "tickets": 1,
        "trust_tickets": 1,
        "active_customers": 0,
        "tickets_per_1k_customers": None,
        "trust_tickets_per_1k_customers": None,
        "is_complete": True,
    }
    assert support[FEB] == {
        "month_start": FEB,
        "tickets": 1,
        "trust_tickets": 0,
        "active_customers": 1,
        "tickets_per_1k_customers": 1000.0,
        "trust_tickets_per_1k_customers": 0.0,
        "is_complete": True,
    }
    cost = {r["month_start"]: r for r in small["kpi_cost_to_serve_monthly"]}
    # I1: 1 h x 2 responders; I3: 2 h x 1; I2 unresolved: none. Ticket 1: 0.5 h.
    assert cost[JAN] == {
        "month_start": JAN,
        "compute_cost": None,
        "incident_ops_hours": 4.0,
        "support_ops_hours": 0.5,
        "ops_hours": 4.5,
        "ops_cost": 540.0,
        "active_customers": 0,
        "cost_per_customer": None,
        "ops_cost_per_customer": None,
        "is_complete": True,
    }
    assert cost[FEB] == {
        "month_start": FEB,
        "compute_cost": None,
        "incident_ops_hours": 0.0,
        "support_ops_hours": 0.0,
        "ops_hours": 0.0,
        "ops_cost": 0.0,
        "active_customers": 1,
        "cost_per_customer": None,
        "ops_cost_per_customer": 0.0,
        "is_complete": True,
    }


def test_billing_rows_give_compute_cost():
    billing = [
        {"ChargePeriodStart": "2026-02-01T00:00:00Z", "BilledCost": 30.0},
        {"ChargePeriodStart": datetime(2026, 2, 15, tzinfo=UTC), "BilledCost": "10.5"},
    ]
    out = kpi_truth_from_records(CATALOG, scenario(), billing)
    cost = {r["month_start"]: r for r in out["kpi_cost_to_serve_monthly"]}
    assert (cost[JAN]["compute_cost"], cost[JAN]["cost_per_customer"]) == (0.0, None)
    assert cost[FEB]["compute_cost"] == 40.5
    assert cost[FEB]["cost_per_customer"] == 40.5  # (40.5 + 0 ops) / 1 customer


def test_capacity_allocation(small):
    rows = small["mart_capacity_allocation"]
    got = {(r["team"], r["category"]): r for r in rows}
    assert set(got) == {
        ("alpha", "roadmap"),
        ("alpha", "unplanned"),
        ("beta", "unplanned"),
        ("unassigned", "unplanned"),
        ("all", "roadmap"),
        ("all", "unplanned"),
    }
    assert all(r["week_start"] == WEEK for r in rows)
    # dana: I1 from her first ack 2:15 to 3:00 = 0.75 h -> 0.01875 FTE unplanned; the rest
    # split over a roadmap PR and a hotfix/ PR into a release branch.
    assert got[("alpha", "roadmap")]["fte_weeks"] == pytest.approx(0.490625)
    assert got[("alpha", "roadmap")]["target_share"] == 0.5  # alpha's override
    assert got[("alpha", "roadmap")]["variance_pp"] == pytest.approx(-0.9375)
    assert got[("alpha", "unplanned")]["fte_weeks"] == pytest.approx(0.509375)
    assert got[("alpha", "unplanned")]["variance_pp"] == pytest.approx(30.9375)
    # omar, matched by e-mail (the catalog has no PagerDuty id): 0.5 h of I1
    assert got[("beta", "unplanned")]["fte_weeks"] == pytest.approx(0.0125)
    assert got[("beta", "unplanned")]["share"] == 1.0
    assert got[("beta", "unplanned")]["variance_pp"] == pytest.approx(90.0)
    # the outsider's Revert PR: a whole FTE-week of unplanned work, team unassigned
    assert got[("unassigned", "unplanned")]["fte_weeks"] == 1.0
    assert got[("unassigned", "unplanned")]["target_share"] == 0.1
    assert got[("all", "roadmap")]["fte_weeks"] == pytest.approx(0.490625)
    assert got[("all", "roadmap")]["share"] == pytest.approx(0.24378881987577636)
    assert got[("all", "roadmap")]["variance_pp"] == pytest.approx(-45.62111801242236)
    assert got[("all", "unplanned")]["fte_weeks"] == pytest.approx(1.521875)
    assert got[("all", "unplanned")]["share"] == pytest.approx(0.7562111801242236)


def test_engineer_week_effort():
    assert engineer_week_effort(10.0, ["roadmap", "platform"]) == {
        "unplanned": 0.25,
        "roadmap": 0.375,
        "platform": 0.375,
    }
    assert engineer_week_effort(60.0, ["roadmap"]) == {"unplanned": 1.0, "roadmap": 0.0}
    assert engineer_week_effort(4.0, []) == {"unplanned": 0.1}
    assert engineer_week_effort(0.0, []) == {}


def test_scorecard(small):
    rows = small["kpi_scorecard"]
    assert len(rows) == 2 * (13 + 1)  # the 13 headline KPIs and the trust theme's
    jan = {r["kpi"]: r for r in rows if r["month_start"] == JAN}
    feb = {r["kpi"]: r for r in rows if r["month_start"] == FEB}
    assert (
        jan["deployments"]["value"],
        jan["deployments"]["n"],
        jan["deployments"]["previous_value"],
    ) == (3.0, 3, None)
    assert (jan["rollback_rate"]["value"], jan["rollback_rate"]["n"]) == (0.5, 2)
    assert (jan["change_failure_rate"]["value"], jan["change_failure_rate"]["n"]) == (0.5, 2)
    assert (jan["incidents"]["value"], jan["incidents"]["n"]) == (3.0, 3)
    assert (jan["mttr_hours"]["value"], jan["mttr_hours"]["n"]) == (1.5, 2)
    assert jan["lead_time_p50_hours"]["value"] == pytest.approx(4.166666666666667)
    assert jan["lead_time_p50_hours"]["n"] == 2
    assert (jan["tickets_per_1k_customers"]["value"], jan["tickets_per_1k_customers"]["n"]) == (
        None,
        1,
    )
    assert jan["roadmap_share"]["value"] == pytest.approx(0.24378881987577636)
    assert jan["platform_share"]["value"] == 0.0
    assert jan["unplanned_share"]["n"] is None
    assert (
        feb["deployments"]["value"],
        feb["deployments"]["previous_value"],
        feb["deployments"]["change_pct"],
    ) == (0.0, 3.0, -100.0)
    assert (
        feb["rollback_rate"]["value"],
        feb["rollback_rate"]["n"],
        feb["rollback_rate"]["change_pct"],
    ) == (None, 0, None)
    assert (
        feb["tickets_per_1k_customers"]["value"],
        feb["tickets_per_1k_customers"]["change_pct"],
    ) == (1000.0, None)
    assert feb["ops_cost_per_customer"]["value"] == 0.0
    assert feb["cost_per_customer"]["value"] is None
    assert feb["roadmap_share"]["value"] is None  # no week starts in February


def test_coverage(small):
    cov = {r["metric"]: (r["covered"], r["total"]) for r in small["kpi_coverage"]}
    assert cov == {
        "deployments_compare_linked": (2, 3),
        "changes_deployed": (2, 2),
        "incidents_team_mapped": (2, 3),
        "prs_classified": (3, 3),
        "authors_mapped": (2, 3),
    }
    assert row(small["kpi_coverage"], metric="authors_mapped")["share"] == pytest.approx(2 / 3)


# --- classification and team resolution --------------------------------------------------


def test_pr_category_rules():
    def cat(title="Add x", head="feature/x", labels=()):
        return pr_category({"title": title, "head_ref": head, "labels": list(labels)}, CATALOG)

    assert cat(labels=["feature", "bug"]) == "unplanned"  # priority: unplanned first
    assert cat(labels=["feature", "tech-debt"]) == "platform"
    assert cat(labels=["feature"]) == "roadmap"
    assert cat(labels=["Feature", "wontfix"]) == "unclassified"  # exact label names
    assert cat(title='Revert "Add x"', labels=["feature"]) == "unplanned"
    assert cat(title="HOTFIX: crash") == "unplanned"
    assert cat(title="Hotfix login crash") == "unplanned"
    assert cat(head="Hotfix/urgent") == "unplanned"
    assert cat(head="revert-x") == "unclassified"
    assert cat(title="Fix hotfix script") == "unclassified"


def test_team_resolution():
    teams = Teams(
        CATALOG,
        [{"id": "PU9", "email": "OMAR@example.org"}, {"id": "PU7", "email": "nobody@example.org"}],
    )
    assert teams.of_repo("acme/a") == "alpha" and teams.of_repo("acme/zz") is None
    assert teams.of_service("S2") == "beta" and teams.of_service("SX") is None
    assert teams.author_engineer("dana") == ("member:dana", "alpha")
    assert teams.author_engineer("stranger") == ("github:stranger", "unassigned")
    assert teams.responder_engineer("PU1") == ("member:dana", "alpha")
    assert teams.responder_engineer("PU9") == ("member:omar", "beta")
    assert teams.responder_engineer("PU7") == ("pagerduty:PU7", "unassigned")


def test_workflow_run_deployments():
    def run(rid, name="Deploy production", branch="main", conclusion="success"):
        return {
            "run_id": rid,
            "repo": "acme/b",
            "name": name,
            "head_branch": branch,
            "head_sha": f"s{rid}",
            "run_started_at": at(rid),
            "updated_at": at(rid, 10),
            "conclusion": conclusion,
        }

    runs = [
        run(1),
        run(2, conclusion="failure"),
        run(3, name="CI"),
        run(4, branch="release/2026.01"),
        run(5, conclusion="cancelled"),
    ]
    ghost = {**dep(9, "a", 0), "repo": "acme/b"}  # a deployment on a workflow_runs repo
    out = production_deployments([ghost], runs, CATALOG, {"acme/b": "main"})
    assert [
        (d["deployment_id"], d["environment"], d["created_at"], d["deployed_at"]) for d in out
    ] == [
        (1, "production", at(1), at(1, 10)),
        (2, "production", at(2), None),
        (5, "production", at(5), None),
    ]


# --- the real simulated organisation -----------------------------------------------------


def test_completeness_follows_the_as_of_time():
    # As of mid-February: January and the weeks ended by then are complete, February is not.
    mid_feb = datetime(2026, 2, 16, 8, 30, 15, tzinfo=UTC)
    out = kpi_truth_from_records(CATALOG, scenario(), as_of=mid_feb)
    for name in ("kpi_support_monthly", "kpi_cost_to_serve_monthly", "kpi_scorecard"):
        assert {(r["month_start"], r["is_complete"]) for r in out[name]} == {
            (JAN, True),
            (FEB, False),
        }, name
    for name in ("kpi_delivery_weekly", "kpi_incidents_weekly", "mart_capacity_allocation"):
        assert {r["is_complete"] for r in out[name]} == {True}, name
    feb = {r["kpi"]: r for r in out["kpi_scorecard"] if r["month_start"] == FEB}
    # February's deployments fell from 3 to 0, but the month is not over: no change yet.
    assert (feb["deployments"]["previous_value"], feb["deployments"]["change_pct"]) == (3.0, None)
    # A week ends at the next Monday 00:00: complete at that second, not one second before.
    assert truth_decision.week_is_complete(WEEK, datetime(2026, 1, 12, tzinfo=UTC))
    assert not truth_decision.week_is_complete(WEEK, datetime(2026, 1, 11, 23, 59, 59, tzinfo=UTC))
    assert truth_decision.month_is_complete(date(2025, 12, 1), datetime(2026, 1, 1, tzinfo=UTC))
    assert not truth_decision.month_is_complete(FEB, datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))
    # Before any successful sync nothing is complete.
    none = kpi_truth_from_records(CATALOG, scenario(), as_of=None)
    assert not any(r["is_complete"] for r in none["kpi_delivery_weekly"] + none["kpi_scorecard"])
    assert all(r["change_pct"] is None for r in none["kpi_scorecard"])
    # A sync's as-of time has the Date header's resolution: whole seconds.
    assert truth_decision.as_of_from_clock(
        datetime(2026, 2, 16, 8, 30, 15, 999999, tzinfo=UTC)
    ) == datetime(2026, 2, 16, 8, 30, 15, tzinfo=UTC)


def test_ticket_themes():
    catalog = parse_catalog({"teams": [], "ticket_themes": {"integrations": ["api", "API_v2"]}})
    records = scenario()
    records["tickets"] += [
        {
            **records["tickets"][2],
            "ticket_id": 4,
            "created_at": datetime(2026, 2, 5, tzinfo=UTC),
            "tags": ["Api", "API_v2"],  # the second tag matches exactly, the first does not
        },
        {
            **records["tickets"][2],
            "ticket_id": 5,
            "created_at": datetime(2026, 2, 6, tzinfo=UTC),
            "tags": ["Api", "Data_Quality"],  # no tag of any theme: case matters
        },
    ]
    out = kpi_truth_from_records(catalog, records, as_of=AS_OF)
    got = {
        (r["month_start"], r["theme"]): (
            r["tickets"],
            r["active_customers"],
            r["tickets_per_1k_customers"],
        )
        for r in out["kpi_support_themes_monthly"]
    }
    # Ticket 1 (api, data_quality) is in both themes; ticket 2 is deleted; 3 has no tags.
    assert got == {
        (JAN, "trust"): (1, 0, None),
        (JAN, "integrations"): (1, 0, None),
        (FEB, "trust"): (0, 1, 0.0),
        (FEB, "integrations"): (1, 1, 1000.0),
    }
    kpis = {
        (r["month_start"], r["kpi"]): (r["value"], r["previous_value"], r["change_pct"], r["n"])
        for r in out["kpi_scorecard"]
        if r["kpi"].endswith("_tickets_per_1k_customers") and r["kpi"] != "tickets_per_1k_customers"
    }
    assert kpis == {
        (JAN, "trust_tickets_per_1k_customers"): (None, None, None, 1),
        (FEB, "trust_tickets_per_1k_customers"): (0.0, None, None, 0),
        (JAN, "integrations_tickets_per_1k_customers"): (None, None, None, 1),
        (FEB, "integrations_tickets_per_1k_customers"): (1000.0, None, None, 1),
    }


@pytest.fixture(scope="module")
def sim_truth() -> dict:
    return kpi_truth(Simulator(seed=7, scale=SMALL))


def test_simulator_truth_invariants(sim_truth):
    out = sim_truth
    assert set(out) == set(truth.TABLES)
    for name, rows in out.items():
        assert rows, name
    rates = [
        (r, k)
        for t in ("kpi_delivery_weekly",)
        for r in out[t]
        for k in ("rollback_rate", "change_failure_rate")
    ]
    rates += [(r, "share") for r in out["kpi_coverage"]]
    rates += [(r, "value") for r in out["kpi_scorecard"] if r["kpi"].endswith(("rate", "share"))]
    for r, k in rates:
        assert r[k] is None or 0.0 <= r[k] <= 1.0, (r, k)
    for t, lo, hi in (
        ("kpi_delivery_weekly", "lead_time_p50_hours", "lead_time_p95_hours"),
        ("kpi_incidents_weekly", "ttr_p50_hours", "ttr_p95_hours"),
    ):
        for r in out[t]:
            assert (r[lo] is None) == (r[hi] is None) == (r["n"] == 0)
            assert r[lo] is None or r[lo] <= r[hi]
    # dense weekly tables over one shared range
    for t in ("kpi_delivery_weekly", "kpi_incidents_weekly"):
        weeks = sorted({r["week_start"] for r in out[t]})
        assert weeks == week_range(weeks)
        assert all(w.weekday() == 0 for w in weeks)
        teams = {r["team"] for r in out[t]}
        assert len(out[t]) == len(weeks) * len(teams)
        assert {"checkout", "platform", "all"} <= teams
    assert {r["week_start"] for r in out["kpi_delivery_weekly"]} == {
        r["week_start"] for r in out["kpi_incidents_weekly"]
    }
    # the unmapped PagerDuty service gives an unassigned incidents row
    assert "unassigned" in {r["team"] for r in out["kpi_incidents_weekly"]}
    # capacity shares of a team-week sum to 1
    sums: dict = {}
    for r in out["mart_capacity_allocation"]:
        assert r["fte_weeks"] > 0
        sums[(r["week_start"], r["team"])] = sums.get((r["week_start"], r["team"]), 0) + r["share"]
    assert all(abs(s - 1.0) < 1e-9 for s in sums.values())
    # the all rows hold every event
    for t, k in (("kpi_delivery_weekly", "deployments"), ("kpi_incidents_weekly", "incidents")):
        all_total = sum(r[k] for r in out[t] if r["team"] == "all")
        team_total = sum(r[k] for r in out[t] if r["team"] != "all")
        assert all_total == team_total > 0
    deployed = sum(1 for d in out["fct_deployments"] if d["succeeded"])
    assert sum(r["deployments"] for r in out["kpi_delivery_weekly"] if r["team"] == "all") == (
        deployed
    )
    # the demo has no billing export; January has tickets but no customers
    assert all(
        r["compute_cost"] is None and r["cost_per_customer"] is None
        for r in out["kpi_cost_to_serve_monthly"]
    )
    jan = out["kpi_support_monthly"][0]
    assert (jan["month_start"], jan["active_customers"], jan["tickets_per_1k_customers"]) == (
        JAN,
        0,
        None,
    )
    assert jan["tickets"] > 0
    themes = {r["theme"] for r in out["kpi_support_themes_monthly"]}
    assert themes == {"trust", "integrations"}
    assert len(out["kpi_scorecard"]) == (13 + 2) * len(out["kpi_support_monthly"])
    trust = {
        r["month_start"]: r["tickets"]
        for r in out["kpi_support_themes_monthly"]
        if r["theme"] == "trust"
    }
    assert trust == {r["month_start"]: r["trust_tickets"] for r in out["kpi_support_monthly"]}
    # rollbacks and rolled-back deployments both occur, and only among successes
    assert any(d["is_rollback"] for d in out["fct_deployments"])
    assert any(d["rolled_back"] for d in out["fct_deployments"])
    assert not any(
        (d["is_rollback"] or d["rolled_back"] or d["incident_id"])
        for d in out["fct_deployments"]
        if not d["succeeded"]
    )
    attributions = {c["attribution"] for c in out["fct_changes"]}
    assert "compare" in attributions


def test_simulator_truth_is_as_of_now():
    sim = Simulator(seed=7, scale=SMALL)
    now = sim.clock.now()
    later = kpi_truth(sim, now + timedelta(days=7))
    earlier = kpi_truth(sim, now)
    for name in ("fct_deployments", "fct_incidents", "fct_tickets"):
        for r in earlier[name]:
            assert r["created_at"] <= now
    assert len(later["fct_deployments"]) > len(earlier["fct_deployments"])
    for r in earlier["fct_incidents"]:
        assert r["resolved_at"] is None or r["resolved_at"] <= now
        assert r["acknowledged_at"] is None or r["acknowledged_at"] <= now
    for r in earlier["fct_changes"]:
        assert r["merged_at"] <= now
        assert r["deployed_at"] is None or r["deployed_at"] <= now
