"""The gate and the publication step.

Every published mart has a blocking asset check that runs its Great Expectations suites on
the built table (schema ``marts_build``); when one fails with ERROR severity, the publish
asset downstream does not run and the last good publication stays in place. A check whose
failures are all warnings fails with WARN severity and publication goes ahead. What to
validate and what to say lives in ``expectations/``; this module only wires it to Dagster.
"""

import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from expectations.gate import parameters, validate_duckdb, validate_postgres
from expectations.publish import (
    PUBLISHED_SCHEMA,
    ensure_bi_role,
    publish_duckdb,
    publish_postgres,
    published_path,
)
from expectations.report import report
from expectations.settings import GateSettings, with_environment
from orchestration.resources import Warehouse

BUILD_SCHEMA = "marts_build"
MARTS = (
    "fct_deployments",
    "fct_changes",
    "fct_incidents",
    "fct_tickets",
    "kpi_delivery_weekly",
    "kpi_incidents_weekly",
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_cost_to_serve_monthly",
    "mart_capacity_allocation",
    "kpi_scorecard",
    "kpi_coverage",
    "mart_platform_bets",
    "pipeline_sync_status",
)
DEFAULT_BI_ROLE = "platform_kpis_bi"
# The check metadata entry holding the gate's operator text (read by the CLI and monitoring).
REPORT_KEY = "report"


def mart_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([BUILD_SCHEMA, table])


def previous_rows(warehouse: Warehouse, table: str) -> int | None:
    """Rows of the table in the last publication (None before the first one)."""
    if warehouse.target == "duckdb":
        path = published_path(warehouse.home)
        if not path.exists():
            return None
        import duckdb

        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{table}").fetchone()[0]
        except duckdb.CatalogException:
            return None
        finally:
            con.close()
    import psycopg

    with psycopg.connect(warehouse.pg_dsn) as con:
        exists = con.execute("select to_regclass(%s)", [f"{PUBLISHED_SCHEMA}.{table}"]).fetchone()
        if exists[0] is None:
            return None
        return con.execute(f"select count(*) from {PUBLISHED_SCHEMA}.{table}").fetchone()[0]


def gate_settings(warehouse: Warehouse) -> GateSettings:
    return with_environment(warehouse.catalog().gate, os.environ)


def validate(warehouse: Warehouse, table: str):
    settings = gate_settings(warehouse)  # reads the catalog file: once per check
    params = parameters(previous_rows(warehouse, table), settings, datetime.now(UTC))
    if warehouse.target == "duckdb":
        import duckdb

        con = duckdb.connect(str(Path(warehouse.home) / "warehouse.duckdb"), read_only=True)
        try:
            return validate_duckdb(con, BUILD_SCHEMA, table, params, settings)
        finally:
            con.close()
    return validate_postgres(warehouse.pg_dsn, BUILD_SCHEMA, table, params, settings)


def build_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=mart_key(table),
        name=f"expectations_{table}",
        blocking=True,
        description=f"Great Expectations suites of {table}; blocks publication.",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        results = validate(warehouse, table)
        failures = [f for r in results for f in r.failures]
        blocking = [f for f in failures if f.blocking]
        return dg.AssetCheckResult(
            passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            metadata={
                "suites": [r.suite for r in results],
                "expectations": sum(r.evaluated for r in results),
                "failed": len(failures),
                "blocking": len(blocking),
                "failures": dg.MetadataValue.md(
                    "\n".join(f"- {f.describe()}" for f in failures) or "none"
                ),
                REPORT_KEY: dg.MetadataValue.text(report(results)),
            },
        )

    return _check


@dg.asset(
    key=dg.AssetKey(["marts", "published"]),
    deps=[mart_key(t) for t in MARTS],
    group_name="publish",
    kinds={"duckdb", "postgres"},
    description="The validated marts, published atomically for BI tools (schema marts).",
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    if warehouse.target == "duckdb":
        path = publish_duckdb(
            Path(warehouse.home) / "warehouse.duckdb",
            BUILD_SCHEMA,
            MARTS,
            published_path(warehouse.home),
        )
        where = str(path)
    else:
        role = os.environ.get("PLATFORM_KPIS_BI_ROLE", DEFAULT_BI_ROLE)
        ensure_bi_role(warehouse.pg_dsn, role)
        publish_postgres(warehouse.pg_dsn, BUILD_SCHEMA, MARTS, bi_role=role)
        where = f"postgres schema {PUBLISHED_SCHEMA} (role {role})"
    context.log.info("published %d marts to %s", len(MARTS), where)
    return dg.MaterializeResult(metadata={"published_to": where, "tables": list(MARTS)})


def gate_checks() -> list[dg.AssetChecksDefinition]:
    return [build_check(t) for t in MARTS]
