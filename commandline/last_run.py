"""The last nightly run as the Dagster instance stored it.

Importing Dagster alone takes about two seconds, so the default instance (SQLite files under
``DAGSTER_HOME``) is read directly: ``history/runs.db`` holds the runs and
``history/runs/<run id>.db`` each run's events, as serialized JSON. An instance whose
``dagster.yaml`` configures its own storage (``deploy/dagster.yaml``: Postgres) is read
through Dagster instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from expectations.report import REPORT_KEY, Finding
from platform_kpis.config import Settings

JOB = "nightly"
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage")


@dataclass(frozen=True)
class LastRun:
    run_id: str
    status: str  # Dagster's run status: SUCCESS, FAILURE, STARTED, CANCELED, ...
    started: datetime | None
    ended: datetime | None
    findings: list[Finding] = field(default_factory=list)


def dagster_home(settings: Settings) -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")


def _configures_storage(home: Path) -> bool:
    config = home / "dagster.yaml"
    if not config.exists():
        return False
    doc = yaml.safe_load(config.read_text()) or {}
    return any(key in doc for key in STORAGE_KEYS)


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def last_run(home: Path) -> LastRun | None:
    """The latest run of the nightly job, or None when there is none."""
    if _configures_storage(home):
        return _through_dagster(home)
    runs = home / "history" / "runs.db"
    if not runs.exists():
        return None
    with _read_only(runs) as con:
        row = con.execute(
            "select run_id, status, start_time, end_time from runs "
            "where pipeline_name = ? order by id desc limit 1",
            [JOB],
        ).fetchone()
    if row is None:
        return None
    run_id, status, start, end = row
    events = home / "history" / "runs" / f"{run_id}.db"
    found = []
    if events.exists():
        with _read_only(events) as con:
            for (body,) in con.execute(
                "select event from event_logs where dagster_event_type = ? order by id",
                ["ASSET_CHECK_EVALUATION"],
            ):
                found.append(_finding(json.loads(body)["dagster_event"]["event_specific_data"]))
    return LastRun(run_id, status, _when(start), _when(end), found)


class _read_only:
    """A read-only SQLite connection that closes (sqlite3's own context manager does not)."""

    def __init__(self, path: Path):
        self.con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)

    def __enter__(self) -> sqlite3.Connection:
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()


def _finding(evaluation: dict) -> Finding:
    report = (evaluation.get("metadata") or {}).get(REPORT_KEY) or {}
    severity = (evaluation.get("severity") or {}).get("__enum__", "")
    return Finding(
        passed=bool(evaluation.get("success")),
        blocking=severity.endswith(".ERROR"),
        text=report.get("text") or "",
    )


def _through_dagster(home: Path) -> LastRun | None:
    import dagster as dg

    from orchestration.monitoring import findings

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(dg.RunsFilter(job_name=JOB), limit=1)
        if not records:
            return None
        record = records[0]
        logs = instance.all_logs(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
        evaluations = [log.dagster_event.event_specific_data for log in logs if log.dagster_event]
        return LastRun(
            record.dagster_run.run_id,
            record.dagster_run.status.value,
            _when(record.start_time),
            _when(record.end_time),
            findings(evaluations),
        )
