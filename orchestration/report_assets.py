"""The executive report, rebuilt after each publication from the published marts."""

import dagster as dg

from orchestration.publish_assets import published_marts
from orchestration.resources import Warehouse
from reporting.render import build_report


@dg.asset(
    key=dg.AssetKey(["marts", "report"]),
    deps=[published_marts],
    group_name="publish",
    kinds={"html"},
    description="One self-contained HTML page for engineering leaders: the scorecard, "
    "trends, capacity against budget, the platform bets and data health.",
)
def report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    built = build_report(warehouse.target, warehouse.home, warehouse.pg_dsn)
    context.log.info("report written to %s (%d bytes)", built.path, built.bytes)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(built.path)),
            "bytes": built.bytes,
            "build_seconds": round(built.seconds, 2),
            "key_figures": dg.MetadataValue.md(built.scorecard.markdown()),
        }
    )
