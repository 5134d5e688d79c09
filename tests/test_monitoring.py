"""The run-failure sensor writes a summary naming the failed step and the reason."""

from __future__ import annotations

import dagster as dg

from orchestration.monitoring import run_failure_summary


def test_failure_summary_names_step_and_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_KPIS_HOME", str(tmp_path))
    monkeypatch.delenv("PLATFORM_KPIS_FAILURE_WEBHOOK", raising=False)

    @dg.op
    def extract_github():
        raise RuntimeError("github/pull_requests: 401 Unauthorized: check GITHUB_TOKEN")

    @dg.job
    def nightly():
        extract_github()

    instance = dg.DagsterInstance.ephemeral()
    result = nightly.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_summary", dagster_event=failure, dagster_instance=instance,
        dagster_run=result.dagster_run).for_run_failure()
    run_failure_summary(context)
    text = (tmp_path / "run_failures" / f"{result.run_id}.txt").read_text()
    assert f"run {result.run_id} of job 'nightly' failed" in text
    assert "step extract_github: RuntimeError: github/pull_requests: 401" in text
