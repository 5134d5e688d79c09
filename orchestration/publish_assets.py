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
from expectations.history import CheckOutcome, Publication, new_publication, sync_status_rows
from expectations.publish import (
    PUBLISHED_SCHEMA,
    ensure_bi_role,
    mart_names,
    publish_duckdb,
    publish_postgres,
    published_path,
)
from expectations.report import REPORT_KEY, WARNINGS_KEY, report, warning_lines
from expectations.settings import GateSettings, with_environment
from orchestration.resources import Warehouse

BUILD_SCHEMA = "marts_build"
MARTS = mart_names()
DEFAULT_BI_ROLE = "platform_kpis_bi"


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
                WARNINGS_KEY: dg.MetadataValue.json(warning_lines(results)),
            },
        )

    return _check


def run_checks(context: dg.AssetExecutionContext) -> list[CheckOutcome]:
    """The gate checks this run evaluated, as plain outcomes for the publication record."""
    from orchestration.monitoring import run_check_evaluations

    outcomes = []
    for evaluation in run_check_evaluations(context.instance, context.run.run_id):
        if REPORT_KEY not in evaluation.metadata:
            continue  # not a gate check (dbt tests, freshness)
        warnings = evaluation.metadata.get(WARNINGS_KEY)
        outcomes.append(
            CheckOutcome(
                check=evaluation.check_name,
                passed=evaluation.passed,
                severity=evaluation.severity.value,
                failed=int(evaluation.metadata["failed"].value),
                warnings=tuple(warnings.value) if warnings else (),
            )
        )
    return outcomes


def this_publication(context: dg.AssetExecutionContext, warehouse: Warehouse) -> Publication:
    if warehouse.target == "duckdb":
        import duckdb

        con = duckdb.connect(str(Path(warehouse.home) / "warehouse.duckdb"), read_only=True)
        try:
            status = sync_status_rows(con, BUILD_SCHEMA)
        finally:
            con.close()
    else:
        import psycopg

        with psycopg.connect(warehouse.pg_dsn) as con:
            status = sync_status_rows(con, BUILD_SCHEMA)
    return new_publication(status, run_checks(context))


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
    publication = this_publication(context, warehouse)
    if warehouse.target == "duckdb":
        path = publish_duckdb(
            Path(warehouse.home) / "warehouse.duckdb",
            BUILD_SCHEMA,
            MARTS,
            published_path(warehouse.home),
            publication,
        )
        where = str(path)
    else:
        role = os.environ.get("PLATFORM_KPIS_BI_ROLE", DEFAULT_BI_ROLE)
        ensure_bi_role(warehouse.pg_dsn, role)
        publish_postgres(
            warehouse.pg_dsn, BUILD_SCHEMA, MARTS, bi_role=role, publication=publication
        )
        where = f"postgres schema {PUBLISHED_SCHEMA} (role {role})"
    context.log.info(
        "published %d marts to %s as publication %s (%d warnings)",
        len(MARTS),
        where,
        publication.publication_id,
        publication.warning_count,
    )
    return dg.MaterializeResult(
        metadata={
            "published_to": where,
            "tables": list(MARTS),
            "publication_id": publication.publication_id,
            "as_of": str(publication.as_of),
            "warnings": publication.warning_count,
        }
    )


def gate_checks() -> list[dg.AssetChecksDefinition]:
    return [build_check(t) for t in MARTS]
