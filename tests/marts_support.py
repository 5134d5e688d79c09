"""Build the marts from the simulator end to end (extract → catalog → dbt) and compare them
with the simulator's ground truth, row for row."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from extractors.rawstore import SOURCES, open_store
from extractors.sources import sync_source
from platform_kpis.catalog import parse_catalog
from platform_kpis.catalog_tables import dbt_env, ensure_raw_layer, write_catalog
from platform_kpis.config import Settings
from simulator.app import Simulator
from simulator.org import Scale
from simulator.truth import kpi_truth
from tests.conftest import FAST_RETRY

BUILD_SCHEMA = "marts_build"
DBT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

# The grain of each contract table (docs/kpis.md), used to pair rows.
KEYS: dict[str, tuple[str, ...]] = {
    "fct_deployments": ("deployment_id",),
    "fct_changes": ("repo", "pr_number"),
    "fct_incidents": ("incident_id",),
    "fct_tickets": ("ticket_id",),
    "kpi_delivery_weekly": ("week_start", "team"),
    "kpi_incidents_weekly": ("week_start", "team"),
    "kpi_support_monthly": ("month_start",),
    "kpi_support_themes_monthly": ("month_start", "theme"),
    "kpi_cost_to_serve_monthly": ("month_start",),
    "mart_capacity_allocation": ("week_start", "team", "category"),
    "kpi_scorecard": ("month_start", "kpi"),
    "kpi_coverage": ("metric",),
    "mart_platform_bets": ("bet_id",),
}


@dataclass
class Built:
    target: str
    home: Path
    dsn: str | None
    truth: dict[str, list[dict]]
    sim: Simulator


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_dbt(args: list[str], home: Path, env: dict[str, str]) -> None:
    from dbt.cli.main import dbtRunner

    with environment(env):
        result = dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--target-path",
                str(home / "dbt_target"),
                "--log-path",
                str(home / "dbt_logs"),
                "--quiet",
            ]
        )
    if not result.success:
        raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception}")


def build_marts(
    home: Path,
    *,
    seed: int,
    scale: Scale,
    target: str = "duckdb",
    dsn: str | None = None,
    advance_days: float = 0,
    dbt_args: tuple[str, ...] = ("build",),
) -> Built:
    """Sync every source from a fresh simulator, write the catalog, run dbt; the truth is
    taken as of the simulator's clock at the end."""
    sim = Simulator(seed=seed, scale=scale).start()
    try:
        env = {**sim.env(), "PLATFORM_KPIS_HOME": str(home), "PLATFORM_KPIS_TARGET": target}
        if dsn:
            env["PLATFORM_KPIS_PG_DSN"] = dsn
        settings = Settings.from_env(env)
        catalog = parse_catalog(sim.org.catalog())
        rounds = [0.0] + ([advance_days] if advance_days else [])
        for days in rounds:
            if days:
                sim.advance(days=days)
            for source in SOURCES:
                with open_store(source, target=target, home=home, dsn=dsn) as store:
                    sync_source(
                        source,
                        settings,
                        catalog,
                        store,
                        retry=FAST_RETRY,
                        history_start=sim.org.start,
                    )
        write_catalog(catalog, target=target, home=home, dsn=dsn)
        ensure_raw_layer(target=target, home=home, dsn=dsn)
        run_dbt(list(dbt_args), home, dbt_env(target=target, home=home, dsn=dsn))
        return Built(target, home, dsn, kpi_truth(sim), sim)
    finally:
        sim.stop()


def read_table(built: Built, table: str, schema: str = BUILD_SCHEMA) -> list[dict]:
    query = f"select * from {schema}.{table}"
    if built.target == "duckdb":
        import duckdb

        # Not read_only: dbt ran in this process and its connection to the file may still be
        # open, and DuckDB refuses a second connection with another configuration.
        con = duckdb.connect(str(built.home / "warehouse.duckdb"))
        try:
            cur = con.execute(query)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            con.close()
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(built.dsn, row_factory=dict_row) as con:
        return list(con.execute(query).fetchall())


def _norm(value: Any) -> Any:
    """Comparable values: aware UTC datetimes, dates, floats, plain Python scalars."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return value
    if hasattr(value, "is_integer") or type(value).__name__ == "Decimal":
        return float(value)
    return value


def _same(a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def diff_table(table: str, actual: list[dict], expected: list[dict], limit: int = 12) -> list[str]:
    """Human-readable differences: missing and unexpected keys, then differing cells of the
    contract's columns (columns the truth names; marts may carry more)."""
    keys = KEYS[table]

    def key(row: dict) -> tuple:
        return tuple(_norm(row[k]) for k in keys)

    got = {key(r): r for r in actual}
    want = {key(r): r for r in expected}
    out = []
    if len(got) != len(actual):
        out.append(f"{table}: duplicate keys in the mart ({len(actual) - len(got)})")
    out += [f"{table}: missing row {k}" for k in sorted(set(want) - set(got), key=repr)]
    out += [f"{table}: unexpected row {k}" for k in sorted(set(got) - set(want), key=repr)]
    for k in sorted(set(want) & set(got), key=repr):
        for col, value in want[k].items():
            if col not in got[k]:
                out.append(f"{table}: no column {col}")
                break
            if not _same(got[k][col], value):
                out.append(f"{table} {k}: {col} = {got[k][col]!r}, truth {value!r}")
    return out[:limit] + ([f"... {len(out) - limit} more"] if len(out) > limit else [])
