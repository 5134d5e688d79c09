"""What a data engineer sees when something is stale or fails: freshness checks on the raw
sources and a run-failure sensor that writes a plain summary (and posts it to a webhook)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import requests

from expectations.report import REPORT_KEY, Finding, gate_text
from platform_kpis.redact import logger, redact

log = logger(__name__)

# The nightly run plus slack: a raw asset older than this is stale.
RAW_FRESHNESS = timedelta(hours=26)


def raw_freshness_checks(raw_assets: list[dg.AssetsDefinition]):
    checks = dg.build_last_update_freshness_checks(
        assets=raw_assets, lower_bound_delta=RAW_FRESHNESS
    )
    sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=checks, default_status=dg.DefaultSensorStatus.RUNNING
    )
    return checks, sensor


def findings(evaluations) -> list[Finding]:
    """The gate's findings in Dagster's ``AssetCheckEvaluation``s."""
    return [
        Finding(
            passed=e.passed,
            blocking=e.severity == dg.AssetCheckSeverity.ERROR,
            text=getattr(e.metadata.get(REPORT_KEY), "value", "") or "",
        )
        for e in evaluations
    ]


def gate_report(evaluations: Iterable[dg.AssetCheckEvaluation]) -> str:
    """The gate's text for every failed expectation check of a run (blocking ones first)."""
    return gate_text(findings(evaluations))


def run_check_evaluations(
    instance: dg.DagsterInstance, run_id: str
) -> list[dg.AssetCheckEvaluation]:
    logs = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [e.dagster_event.event_specific_data for e in logs if e.dagster_event]


def failure_summary(
    run: dg.DagsterRun, failure_events: list[dg.DagsterEvent], gate: str = ""
) -> str:
    """A few lines saying which run failed, which steps, and why; with the gate's findings
    when the gate blocked publication."""
    lines = [
        f"platform-kpis: run {run.run_id} of job '{run.job_name}' failed "
        f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)"
    ]
    for event in failure_events:
        data = event.step_failure_data
        error = data.error if data else None
        while error is not None and error.cause is not None:  # the user's error, not Dagster's
            error = error.cause
        message = error.message.strip().splitlines()[0] if error else ""
        lines.append(f"- step {event.step_key}: {message}")
    if gate:
        lines += ["", "The gate's findings (the last good publication stays in place):", gate]
    return "\n".join(lines)


def _failure_dir() -> Path:
    home = Path(os.environ.get("PLATFORM_KPIS_HOME") or Path.cwd() / "data")
    return home / "run_failures"


def report_run_failure(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Write a failed run's summary to ``run_failures/<run id>.txt`` and post it to
    ``PLATFORM_KPIS_FAILURE_WEBHOOK``; returns the summary, or None when this run was already
    reported. Both the daemon's sensor and the CLI (whose in-process runs a daemon watching
    the same instance also sees) call it: the file is created exclusively, so one of them
    reports. Every credential is redacted from the text first."""
    events = [
        e.dagster_event
        for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        if e.dagster_event
    ]
    gate = gate_report(run_check_evaluations(instance, run.run_id))
    summary = redact(failure_summary(run, events, gate))
    out = _failure_dir()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with open(out / f"{run.run_id}.txt", "x") as f:
            f.write(summary + "\n")
    except FileExistsError:
        return None
    webhook = os.environ.get("PLATFORM_KPIS_FAILURE_WEBHOOK")
    if webhook:
        _post(webhook, summary)
    return summary


def _post(webhook: str, summary: str) -> None:
    # Slack-compatible body. The URL itself is a secret: a failed post is reported without it.
    try:
        requests.post(
            webhook,
            data=json.dumps({"text": summary}),
            headers={"Content-Type": "application/json"},
            timeout=10,
        ).raise_for_status()
    except requests.RequestException as exc:
        status = getattr(exc.response, "status_code", None)
        log.warning(
            "could not post the failure summary to PLATFORM_KPIS_FAILURE_WEBHOOK: %s%s",
            type(exc).__name__,
            f" (HTTP {status})" if status else "",
        )


@dg.run_failure_sensor(name="run_failure_summary", default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_summary(context: dg.RunFailureSensorContext) -> None:
    summary = report_run_failure(context.instance, context.dagster_run)
    if summary:
        context.log.error(summary)
