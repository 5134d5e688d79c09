"""Publication history: what each publication held, kept outside dbt so that no rebuild (not
even ``dbt build --full-refresh``) can rewrite it.

Schema ``history`` of the warehouse (``warehouse.duckdb``, or the Postgres database) holds
three append-only tables, written only by the publish step:

- ``publications``: one row per publication: when, the data's as-of time, the gate's
  warn-level findings and every check's outcome, and the raw layer's high-water marks (each
  source stream's cursor and last success) it was built from;
- ``scorecard_snapshots``: the scorecard as published, one row per publication, month, KPI;
- ``mart_snapshots``: every row of the monthly marts as published, as JSON (a mart that
  gains a column later still appends to the same table).

A snapshot counts only once its ``publications`` row exists: the publish step writes the
snapshots first and the ``publications`` row last (see ``expectations.publish``), so a
publish killed in between leaves orphan snapshots that every reader ignores, never a
publication that did not happen.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HISTORY_SCHEMA = "history"
# The published table readers query to know which publication they hold (copied from history).
PUBLICATIONS_TABLE = "publications"
PUBLISHED_COLUMNS = ("publication_id", "published_at", "as_of", "warnings", "warning_count")
# Monthly marts kept whole at each publication (the scorecard has its own typed table).
SNAPSHOT_MARTS = ("kpi_support_monthly", "kpi_support_themes_monthly", "kpi_cost_to_serve_monthly")

_DDL = (
    f"create schema if not exists {HISTORY_SCHEMA}",
    f"""create table if not exists {HISTORY_SCHEMA}.publications (
        publication_id text primary key,
        published_at timestamptz not null,
        as_of timestamptz,
        warnings text,
        warning_count integer not null,
        high_water_marks text not null,
        gate_results text not null
    )""",
    f"""create table if not exists {HISTORY_SCHEMA}.scorecard_snapshots (
        publication_id text not null,
        month_start date not null,
        kpi text not null,
        value double precision,
        is_complete boolean not null,
        n bigint
    )""",
    f"""create table if not exists {HISTORY_SCHEMA}.mart_snapshots (
        publication_id text not null,
        mart text not null,
        row_json text not null
    )""",
)


def ensure_history_duckdb(con: Any) -> None:
    """Create the history tables (empty) when missing; dbt reads them as a source."""
    for statement in _DDL:
        con.execute(statement)


def ensure_history_postgres(cur: Any) -> None:
    for statement in _DDL:
        cur.execute(statement)


def ensure_history(*, target: str, home: Path | str | None = None, dsn: str | None = None) -> None:
    """Create the history tables in the warehouse when missing (before a dbt build)."""
    if target == "duckdb":
        import duckdb

        if home is None:
            raise ValueError("the DuckDB warehouse needs PLATFORM_KPIS_HOME")
        con = duckdb.connect(str(Path(home) / "warehouse.duckdb"))
        try:
            ensure_history_duckdb(con)
        finally:
            con.close()
    elif target == "postgres":
        import psycopg

        if not dsn:
            raise ValueError("the Postgres warehouse needs PLATFORM_KPIS_PG_DSN")
        with psycopg.connect(dsn) as con, con.cursor() as cur:
            ensure_history_postgres(cur)
    else:
        raise ValueError(f"unknown target {target!r}")


@dataclass(frozen=True)
class CheckOutcome:
    """One gate check of the run, as the publish step saw it (plain data, no Dagster)."""

    check: str
    passed: bool
    severity: str  # "ERROR" or "WARN", Dagster's severity of a failed check
    failed: int  # expectations failed
    warnings: tuple[str, ...]  # one line per warn-level finding


@dataclass(frozen=True)
class Publication:
    publication_id: str
    published_at: datetime
    as_of: datetime | None
    warnings: str | None
    warning_count: int
    high_water_marks: str
    gate_results: str

    def row(self) -> tuple:
        return (
            self.publication_id,
            self.published_at,
            self.as_of,
            self.warnings,
            self.warning_count,
            self.high_water_marks,
            self.gate_results,
        )


def new_publication(
    sync_status: Iterable[Mapping[str, Any]],
    checks: Iterable[CheckOutcome],
    now: datetime | None = None,
) -> Publication:
    """The publications row of a run, from the built ``pipeline_sync_status`` rows (source,
    stream, cursor, last_success_at, as_of) and the run's gate checks."""
    streams = sorted(sync_status, key=lambda r: (r["source"], r["stream"]))
    marks = {
        f"{r['source']}/{r['stream']}": {
            "cursor": r["cursor"],
            "last_success_at": _iso(r["last_success_at"]),
            "as_of": _iso(r["as_of"]),
        }
        for r in streams
    }
    # The data's as-of time: the earliest API clock across the streams, as dbt's int_as_of
    # reads it from the same status rows (NULL before every stream has synced once).
    clocks = [r["as_of"] for r in streams]
    as_of = min(clocks) if clocks and all(c is not None for c in clocks) else None
    checks = sorted(checks, key=lambda c: c.check)
    lines = [line for c in checks for line in c.warnings]
    return Publication(
        publication_id=f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
        published_at=now or datetime.now(UTC),
        as_of=as_of,
        warnings="\n".join(lines) or None,
        warning_count=len(lines),
        high_water_marks=json.dumps(marks, sort_keys=True),
        gate_results=json.dumps(
            {
                # A passed check's severity says nothing: keep it for failures only.
                c.check: {
                    "passed": c.passed,
                    "severity": None if c.passed else c.severity,
                    "failed": c.failed,
                }
                for c in checks
            },
            sort_keys=True,
        ),
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def sync_status_rows(con: Any, build_schema: str) -> list[dict[str, Any]]:
    """The built ``pipeline_sync_status`` rows (a DuckDB or psycopg connection)."""
    cur = con.execute(
        "select source, stream, cursor, last_success_at, as_of "
        f"from {build_schema}.pipeline_sync_status"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def snapshot_statements(build_schema: str, publication_id: str, json_row: str) -> list[str]:
    """INSERTs copying the built scorecard and monthly marts into history under
    ``publication_id`` (safe: the id is ours, the schema an identifier checked by the caller).
    ``json_row``: the dialect's row-to-JSON expression over alias ``t``."""
    pid = publication_id.replace("'", "")
    statements = [
        f"insert into {HISTORY_SCHEMA}.scorecard_snapshots "
        f"select '{pid}', month_start, kpi, value, is_complete, n "
        f"from {build_schema}.kpi_scorecard"
    ]
    statements += [
        f"insert into {HISTORY_SCHEMA}.mart_snapshots "
        f"select '{pid}', '{mart}', {json_row} from {build_schema}.{mart} as t"
        for mart in SNAPSHOT_MARTS
    ]
    return statements


INSERT_PUBLICATION = (
    f"insert into {HISTORY_SCHEMA}.publications (publication_id, published_at, as_of, "
    "warnings, warning_count, high_water_marks, gate_results) values ({marks})"
)
