"""The code location: assembles the per-domain modules, nothing else."""

import dagster as dg

from orchestration.dbt_assets import dbt_assets_defs
from orchestration.jobs import nightly_job, nightly_schedule
from orchestration.monitoring import raw_freshness_checks, run_failure_summary
from orchestration.publish_assets import gate_checks, published_marts
from orchestration.raw_assets import raw_assets
from orchestration.report_assets import report
from orchestration.resources import resources_from_env


def build_defs() -> dg.Definitions:
    """The Definitions, configured from the environment as it is now."""
    raw = raw_assets()
    freshness_checks, freshness_sensor = raw_freshness_checks(raw)
    dbt, dbt_resources = dbt_assets_defs()
    return dg.Definitions(
        assets=[*raw, *dbt, published_marts, report],
        asset_checks=[*freshness_checks, *gate_checks()],
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        sensors=[run_failure_summary, freshness_sensor],
        resources={**resources_from_env(), **dbt_resources},
    )


defs = build_defs()
