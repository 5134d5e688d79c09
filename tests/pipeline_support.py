"""Run the nightly job through Dagster, in process, against a running simulator."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml

from simulator.app import Simulator
from tests.marts_support import environment


def pipeline_env(
    sim: Simulator, home: Path, *, target: str = "duckdb", dsn: str | None = None
) -> dict[str, str]:
    catalog = home / "catalog.yml"
    if not catalog.exists():
        home.mkdir(parents=True, exist_ok=True)
        catalog.write_text(yaml.safe_dump(sim.org.catalog(), sort_keys=False))
    env = {
        **sim.env(),
        "PLATFORM_KPIS_HOME": str(home),
        "PLATFORM_KPIS_TARGET": target,
        "PLATFORM_KPIS_CATALOG": str(catalog),
        "PLATFORM_KPIS_HISTORY_START": sim.org.start.date().isoformat(),
    }
    if dsn:
        env["PLATFORM_KPIS_PG_DSN"] = dsn
    return env


def run_nightly(
    env: dict[str, str], instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    with environment(env):
        from orchestration.definitions import build_defs

        job = build_defs().resolve_job_def("nightly")
        return job.execute_in_process(
            instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False
        )


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    out = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            out[evaluation.check_name] = evaluation
    return out


def materialized(result: dg.ExecuteInProcessResult) -> set[tuple[str, ...]]:
    return {
        tuple(e.event_specific_data.materialization.asset_key.path)
        for e in result.get_asset_materialization_events()
    }


def source_apis(env: dict[str, str]):
    """The APIs resource for the base URLs and credentials of a simulator's (or a test
    server's) environment, as plain values (production reads them as EnvVars)."""
    from orchestration.resources import SourceApis

    return SourceApis(
        github_api_url=env["GITHUB_API_URL"],
        github_token=env["GITHUB_TOKEN"],
        pagerduty_api_url=env["PAGERDUTY_API_URL"],
        pagerduty_api_token=env["PAGERDUTY_API_TOKEN"],
        zendesk_url=env["ZENDESK_URL"],
        zendesk_email=env["ZENDESK_EMAIL"],
        zendesk_api_token=env["ZENDESK_API_TOKEN"],
    )
