"""A small, legitimate organisation with sparse data publishes: quiet weeks, a team without
deployments in some weeks and a month without incidents are normal for it, not bad data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from commandline.main import print_gate
from expectations.publish import published_path
from simulator.app import Simulator
from simulator.org import Scale
from tests.pipeline_support import check_results, materialized, pipeline_env, run_nightly

# Seed 3 of this scale: 20 tickets in 14 weeks (two weeks without any), no incident in
# February, teams that deploy a few times a month.
SPARSE = Scale(teams=2, repos_per_team=1, members_per_team=2, days=98, activity=0.07, customers=4)


def zero_periods(warehouse: Path) -> dict[str, int]:
    """How many empty periods the built marts hold, counted independently of the gate."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tickets = con.execute("""
            with t as (select distinct cast(date_trunc('week', created_at) as date) as w
                       from marts_build.fct_tickets where status <> 'deleted')
            select (date_diff('week', min(w), max(w)) + 1) - count(*) from t""").fetchone()[0]
        deployments = con.execute("""
            with d as (select team, count(distinct cast(date_trunc('week', created_at) as date))
                              as weeks,
                              date_diff('week', min(created_at), max(created_at)) + 1 as span
                       from marts_build.fct_deployments where team is not null group by team)
            select coalesce(sum(span - weeks), 0) from d""").fetchone()[0]
        incidents = con.execute("""
            with m as (select distinct date_trunc('month', created_at) as m
                       from marts_build.fct_incidents)
            select (date_diff('month', min(m), max(m)) + 1) - count(*) from m""").fetchone()[0]
    finally:
        con.close()
    return {"tickets": tickets, "deployments": deployments, "incidents": incidents}


# Weeks (from the organisation's start) in which the first team deploys only to staging (the
# simulator deploys every weekday, so a quiet team-week has to be made).
STAGING_WEEKS = (6, 10)


@pytest.fixture(scope="module")
def sparse_night(tmp_path_factory):
    home = tmp_path_factory.mktemp("sparse")
    with Simulator(seed=3, scale=SPARSE) as sim:
        team = sim.org.teams[0]
        for repo in team.repos:
            for d in sim.github_model.repos[repo].deployments:
                if (d.created_at - sim.org.start).days // 7 in STAGING_WEEKS:
                    sim.github_model.corrupt(
                        "deployments", f"{repo}#{d.id}", values={"environment": "staging"}
                    )
        catalog = sim.org.catalog()
        # This organisation wants to hear about quieter gaps than the default (p < 0.001).
        catalog["settings"]["gate"] = {"zero_volume_probability": 0.01}
        (home / "catalog.yml").write_text(yaml.safe_dump(catalog, sort_keys=False))
        env = pipeline_env(sim, home)
        yield run_nightly(env), home, team.name


def test_a_sparse_organisation_publishes(sparse_night, capsys):
    result, home, team = sparse_night
    gaps = zero_periods(home / "warehouse.duckdb")
    # The organisation really is sparse: each kind of gap occurs.
    assert gaps["tickets"] > 0 and gaps["deployments"] > 0 and gaps["incidents"] > 0, gaps
    checks = check_results(result)
    blocking = {
        name: e.metadata
        for name, e in checks.items()
        if not e.passed and e.severity.value == "ERROR"
    }
    assert result.success and not blocking, blocking
    assert ("marts", "published") in materialized(result)
    assert published_path(home).exists()
    # Its own history makes these gaps likely: the volume checks do not even warn.
    volume = {n: checks[n] for n in ("expectations_fct_tickets", "expectations_fct_incidents")}
    assert all(e.passed for e in volume.values()), {n: e.metadata for n, e in volume.items()}
    # A team that deployed every week and then not at all is unusual: a warning, published.
    warned = {n: e for n, e in checks.items() if not e.passed}
    assert set(warned) == {"expectations_fct_deployments"}
    assert warned["expectations_fct_deployments"].severity.value == "WARN"
    text = warned["expectations_fct_deployments"].metadata["report"].value
    assert f"team {team}: 0 deployments in the week of 2026-02-16" in text
    assert f"team {team}: 0 deployments in the week of 2026-03-16" in text
    assert "[WARN, published] fct_deployments / deployments_weekly_volume" in text
    print_gate(result)
    assert "gate: passed with warnings" in capsys.readouterr().out
