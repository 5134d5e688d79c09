"""The gate: bad data fails its expectation, publication does not run, and BI users keep
yesterday's marts byte for byte."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import dagster as dg
import pytest

from commandline.main import print_gate
from orchestration.monitoring import run_failure_summary
from orchestration.publish_assets import published_path
from platform_kpis.config import REPO_ROOT
from simulator.app import Simulator
from simulator.org import Scale
from tests.marts_support import environment
from tests.pipeline_support import check_results, materialized, pipeline_env, run_nightly

SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=35, customers=15)


@pytest.fixture(scope="module")
def night_one(tmp_path_factory):
    """A simulator and a clean first night, published."""
    home = tmp_path_factory.mktemp("gate")
    sim = Simulator(seed=5, scale=SCALE).start()
    env = pipeline_env(sim, home)
    result = run_nightly(env)
    yield sim, env, result, home
    sim.stop()


def test_clean_night_publishes_every_contract_table(night_one):
    sim, env, result, home = night_one
    failed = {name: e.metadata for name, e in check_results(result).items() if not e.passed}
    assert result.success, failed
    assert ("marts", "published") in materialized(result)
    path = published_path(home)
    tool = REPO_ROOT.parent / "shared" / "tools" / "check_contract.py"
    if not tool.exists():
        pytest.skip("shared/tools/check_contract.py is not beside the repository")
    # Version 2: the decision layer (completeness, themes, bets, publications, restatements).
    cmd = [sys.executable, str(tool), str(path), "--version", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "contract holds" in done.stdout


def test_bad_data_blocks_publication(night_one, capsys):
    sim, env, _, home = night_one
    yesterday = published_path(home).read_bytes()
    before = sim.clock.now()
    sim.advance(days=14)
    now = sim.clock.now()

    # 1. An incident resolved before it was created.
    incident = next(i for i in sim.pagerduty_model.incidents if before < i.created_at <= now)
    sim.pagerduty_model.corrupt(
        "incidents",
        incident.id,
        set_fields={
            "status": "resolved",
            "resolved_at": (incident.created_at - timedelta(hours=3)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
        },
    )
    # 2. A deployment whose success is dated before the deployment itself.
    deployment, status = next(
        (d, s)
        for repo in sim.github_model.repos.values()
        for d in repo.deployments
        if before < d.created_at and d.environment in ("production", "prod")
        for s in d.statuses
        if s.state == "success" and s.created_at <= now
    )
    sim.github_model.corrupt(
        "deployment_statuses",
        f"{deployment.repo}#{deployment.id}#{status.id}",
        values={
            "created_at": (deployment.created_at - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        },
    )
    # 3. A week of missing tickets: every ticket created in the first new week is gone.
    for ticket in sim.zendesk_model.tickets:
        if before < ticket.created_at <= before + timedelta(days=7):
            sim.zendesk_model.corrupt("tickets", ticket.id, status="deleted")

    instance = dg.DagsterInstance.ephemeral()
    result = run_nightly(env, instance)
    assert not result.success
    checks = check_results(result)
    failed = {name: e for name, e in checks.items() if not e.passed}
    assert "expectations_fct_incidents" in failed
    assert "resolved_at" in str(failed["expectations_fct_incidents"].metadata["failures"])
    assert "expectations_fct_deployments" in failed
    assert "deployed_at" in str(failed["expectations_fct_deployments"].metadata["failures"])
    assert failed["expectations_fct_incidents"].severity == dg.AssetCheckSeverity.ERROR
    # 3. is unusual, not wrong: reported as a warning, it would not block on its own.
    assert "expectations_fct_tickets" in failed
    tickets = failed["expectations_fct_tickets"]
    assert "tickets_weekly_volume" in str(tickets.metadata["failures"])
    assert tickets.severity == dg.AssetCheckSeverity.WARN
    assert ("marts", "published") not in materialized(result)
    assert published_path(home).read_bytes() == yesterday

    # What the command line prints: table, expectation, rows affected, example keys, the fix.
    print_gate(result)
    out = capsys.readouterr().out
    assert "gate: BLOCKED publication" in out
    assert (
        "[ERROR, blocks publication] fct_incidents / fct_incidents: "
        "expect_column_pair_values_a_to_be_greater_than_b(resolved_at): 1 of "
    ) in out
    assert f"e.g. incident_id={incident.id}" in out
    assert f"e.g. deployment_id={deployment.id}" in out
    assert "[WARN, published] fct_tickets / tickets_weekly_volume" in out
    assert "0 tickets in the week of" in out

    # The same text in the run-failure summary.
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_summary",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    with environment({"PLATFORM_KPIS_HOME": str(home), "PLATFORM_KPIS_FAILURE_WEBHOOK": ""}):
        run_failure_summary(context)
    summary = (home / "run_failures" / f"{result.run_id}.txt").read_text()
    assert f"e.g. incident_id={incident.id}" in summary
    assert "what to do:" in summary
