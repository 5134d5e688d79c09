"""The code location: assembles the per-domain modules, nothing else."""

import dagster as dg

from orchestration.dbt_assets import dbt_assets_defs
from orchestration.jobs import nightly_job, nightly_schedule
from orchestration.monitoring import raw_freshness_checks, run_failure_summary
from orchestration.publish_assets import gate_checks, published_marts
from orchestration.raw_assets import raw_assets
from orchestration.resources import resources_from_env

_raw = raw_assets()
_freshness_checks, _freshness_sensor = raw_freshness_checks(_raw)
_dbt, _dbt_resources = dbt_assets_defs()

defs = dg.Definitions(
    assets=[*_raw, *_dbt, published_marts],
    asset_checks=[*_freshness_checks, *gate_checks()],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[run_failure_summary, _freshness_sensor],
    resources={**resources_from_env(), **_dbt_resources},
)
