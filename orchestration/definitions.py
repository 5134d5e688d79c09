"""The code location: assembles the per-domain modules, nothing else."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import nightly_job, nightly_schedule
from orchestration.raw_assets import raw_assets
from orchestration.resources import resources_from_env

defs = dg.Definitions(
    assets=raw_assets(),
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    resources=resources_from_env(),
)
