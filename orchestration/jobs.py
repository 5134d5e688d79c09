"""The nightly job of the whole graph and its schedule."""

from __future__ import annotations

import os

import dagster as dg

NIGHTLY_CRON = os.environ.get("PLATFORM_KPIS_SCHEDULE", "0 2 * * *")

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Extract, transform, validate and publish.",
)

nightly_schedule = dg.ScheduleDefinition(
    job=nightly_job,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
