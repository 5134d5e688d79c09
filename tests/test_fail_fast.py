"""Errors a retry cannot fix (a refused credential, a broken catalog, a bad setting) fail the
extraction step at once; transient ones keep the step's retries. Every failed run, from the
CLI too, leaves a failure summary."""

from __future__ import annotations

import dagster as dg
import pytest

from extractors.rawstore import SOURCES
from platform_kpis.config import DEMO_CATALOG
from tests.marts_support import environment
from tests.pipeline_support import run_nightly, source_apis
from tests.test_secrets import FAST, Gateway

RETRY_EVENTS = (dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_RESTARTED)
RAW_STEPS = {f"raw_{source}" for source in SOURCES}


@pytest.fixture
def gateway():
    served = Gateway({source: 401 for source in SOURCES})
    yield served
    served.stop()


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Each step's wall time, from its first start to its last event, retries included."""
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for event in instance.all_logs(run_id):
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            first.setdefault(event.step_key, event.timestamp)
        if event.step_key in first:
            last[event.step_key] = event.timestamp
    return {step: last[step] - first[step] for step in first}


def retries(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [
        f"{e.step_key}: {e.dagster_event_type}"
        for event_type in RETRY_EVENTS
        for e in instance.all_logs(run_id, of_type=event_type)
    ]


def failed_steps(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    out = {}
    for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error, messages = e.dagster_event.step_failure_data.error, []
        while error is not None:  # Dagster's wrapper, then the user's error
            messages.append(error.message)
            error = error.cause
        out[e.step_key] = "\n".join(messages)
    return out


def test_a_refused_credential_fails_the_cli_run_in_seconds_with_a_summary(
    gateway, tmp_path, capsys
):
    # The nightly job as `tasks.py run` executes it (the demo would bring its own simulator).
    from commandline.main import run_nightly

    (tmp_path / "dagster").mkdir()
    env = {
        **gateway.env(),
        "PLATFORM_KPIS_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "PLATFORM_KPIS_CATALOG": str(DEMO_CATALOG),
        "PLATFORM_KPIS_FAILURE_WEBHOOK": f"{gateway.url}/hook",
    }
    with environment(env):
        assert run_nightly() == 1
        instance = dg.DagsterInstance.get()
    (run,) = instance.get_runs()
    steps = step_seconds(instance, run.run_id)
    assert retries(instance, run.run_id) == []
    assert all(steps[step] < 30 for step in RAW_STEPS), steps
    failed = failed_steps(instance, run.run_id)
    assert RAW_STEPS <= set(failed)
    assert "401 Unauthorized" in failed["raw_github"] and "GITHUB_TOKEN" in failed["raw_github"]
    # The CLI wrote the summary the daemon's sensor writes, and posted it once.
    summary = (tmp_path / "home" / "run_failures" / f"{run.run_id}.txt").read_text()
    assert "check PAGERDUTY_API_TOKEN" in summary and "check GITHUB_TOKEN" in summary
    assert len(gateway.hook_bodies) == 1
    assert "nightly job: FAILED" in capsys.readouterr().out


def test_a_broken_catalog_fails_fast_naming_the_file(tmp_path):
    catalog = tmp_path / "catalog.yml"
    catalog.write_text("teams: [\n  - name: payments\n")
    env = {"PLATFORM_KPIS_HOME": str(tmp_path / "home"), "PLATFORM_KPIS_CATALOG": str(catalog)}
    instance = dg.DagsterInstance.ephemeral()
    result = run_nightly(env, instance)
    assert not result.success
    assert retries(instance, result.run_id) == []
    steps = step_seconds(instance, result.run_id)
    assert all(steps[step] < 30 for step in RAW_STEPS), steps
    failed = failed_steps(instance, result.run_id)
    assert RAW_STEPS <= set(failed)
    assert all("CatalogError" in failed[s] and str(catalog) in failed[s] for s in RAW_STEPS)


def _resources(gateway: Gateway, home, **warehouse):
    from orchestration.resources import Warehouse

    env = gateway.env()
    return {
        "apis": source_apis(env),
        "warehouse": Warehouse(home=str(home), catalog_path=str(DEMO_CATALOG), **warehouse),
    }


def test_a_bad_setting_fails_fast_naming_the_variable(gateway, tmp_path):
    from orchestration.raw_assets import build_source_asset

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [build_source_asset("github")],
        resources=_resources(gateway, tmp_path, history_start="last spring"),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    assert retries(instance, result.run_id) == []
    message = failed_steps(instance, result.run_id)["raw_github"]
    assert "PLATFORM_KPIS_HISTORY_START" in message and "'last spring'" in message


def test_transient_errors_keep_the_step_retries(gateway, tmp_path, monkeypatch):
    """A server error that outlasts the client's own attempts is retried by Dagster (here
    without the production pauses), unlike a 401 or a 403."""
    import extractors.sources
    import orchestration.raw_assets as raw

    make_client = extractors.sources.make_client
    monkeypatch.setattr(raw, "EXTRACTION_RETRY", dg.RetryPolicy(max_retries=2, delay=0))
    monkeypatch.setattr(
        extractors.sources,
        "make_client",
        lambda source, settings, retry: make_client(source, settings, FAST),
    )
    gateway.statuses["github"] = 500
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [raw.build_source_asset("github")],
        resources=_resources(gateway, tmp_path),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    ups = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_UP_FOR_RETRY)
    assert len(ups) == 2
    assert "500 Internal Server Error" in failed_steps(instance, result.run_id)["raw_github"]

    gateway.statuses["github"] = 403
    result = dg.materialize(
        [raw.build_source_asset("github")],
        resources=_resources(gateway, tmp_path),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success and retries(instance, result.run_id) == []
    assert "403 Forbidden" in failed_steps(instance, result.run_id)["raw_github"]


def test_an_unreachable_warehouse_fails_fast(gateway, tmp_path):
    from orchestration.raw_assets import build_source_asset

    dsn = "postgresql://kpis:Wr0ngPassw0rd@127.0.0.1:5432/platform_kpis_no_such_database"
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [build_source_asset("github")],
        resources=_resources(gateway, tmp_path, target="postgres", pg_dsn=dsn),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    assert retries(instance, result.run_id) == []
    message = failed_steps(instance, result.run_id)["raw_github"]
    assert "OperationalError" in message and "Wr0ngPassw0rd" not in message
