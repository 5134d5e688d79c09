"""The code location: assembles the per-domain modules, nothing else."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import nightly_job, nightly_schedule
from orchestration.monitoring import raw_freshness_checks, run_failure_summary
from orchestration.raw_assets import raw_assets
from orchestration.resources import resources_from_env

_raw = raw_assets()
_freshness_checks, _freshness_sensor = raw_freshness_checks(_raw)

defs = dg.Definitions(
    assets=_raw,
    asset_checks=_freshness_checks,
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[run_failure_summary, _freshness_sensor],
    resources=resources_from_env(),
)
