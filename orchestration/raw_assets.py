"""Raw-layer assets: one asset per source stream, keyed ``raw/<source>/<stream>``.

All streams of a source run in one step (a ``multi_asset``): they share one HTTP client and
one writer of the source's raw store, and the three sources run in parallel steps.

Only transient errors (a server error, a timeout, a rate limit that outlasted the client's
waits) earn the step's retries with backoff. A refused credential, a catalog or settings
error, or a warehouse that cannot be opened fails the step at once: the same attempt in 30,
60 and 120 s would fail the same way, minutes later.
"""

import uuid

import dagster as dg

from extractors.errors import ExtractError
from extractors.rawstore import SOURCES
from extractors.sources import streams, sync_source
from extractors.sync import StreamResult
from orchestration.resources import SourceApis, Warehouse
from platform_kpis.redact import redact

# Written by every stream's sync; dbt unions the three into the pipeline_sync_status mart.
STATUS_TABLE = "pipeline_sync_status"
EXTRACTION_RETRY = dg.RetryPolicy(max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL)


def raw_key(source: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source, table])


def _specs(source: str) -> list[dg.AssetSpec]:
    specs = []
    for stream in streams(source):
        s = stream.spec
        for table in s.tables:
            specs.append(
                dg.AssetSpec(
                    raw_key(source, table),
                    deps=[raw_key(source, p) for p in s.parents],
                    description=f"Raw {source} {table}: append-only versions keyed by "
                    f"{s.primary_key}" + (f", cursor {s.cursor}" if s.cursor else ""),
                    group_name="raw",
                    kinds={source, "python"},
                    metadata={"primary_key": s.primary_key, "cursor_field": s.cursor or ""},
                    skippable=True,
                )
            )
    specs.append(
        dg.AssetSpec(
            raw_key(source, STATUS_TABLE),
            deps=[spec.key for spec in specs],
            description=f"How each {source} stream last synced: outcome, records, requests, "
            "retries, rate-limit waits, cursor, error.",
            group_name="raw",
            kinds={source, "python"},
            skippable=True,
        )
    )
    return specs


def _metadata(result: StreamResult) -> dict[str, object]:
    return {
        "records": result.records,
        "new_versions": result.appended,
        "requests": result.requests,
        "retries": result.retries,
        "throttled_seconds": result.throttled_seconds,
        "cursor": result.cursor or "",
    }


def fail_now(exc: Exception) -> dg.Failure:
    """A step failure that skips the step's retries, saying what went wrong."""
    return dg.Failure(description=redact(f"{type(exc).__name__}: {exc}"), allow_retries=False)


def build_source_asset(source: str) -> dg.AssetsDefinition:
    @dg.multi_asset(
        name=f"raw_{source}",
        specs=_specs(source),
        can_subset=True,
        retry_policy=EXTRACTION_RETRY,
        group_name="raw",
    )
    def _extract(context: dg.AssetExecutionContext, apis: SourceApis, warehouse: Warehouse):
        wanted_tables = {k.path[-1] for k in context.selected_asset_keys}
        wanted = [s.spec.name for s in streams(source) if wanted_tables & set(s.spec.tables)]
        try:  # configuration and the warehouse: nothing a retry would change
            settings = apis.settings(warehouse)
            catalog = warehouse.catalog()
            history_start = warehouse.history_start_at()
            store = warehouse.open_raw(source)
        except Exception as exc:
            raise fail_now(exc) from exc
        with store:
            try:
                run = sync_source(
                    source,
                    settings,
                    catalog,
                    store,
                    only=wanted,
                    run_id=context.run.run_id or uuid.uuid4().hex,
                    history_start=history_start,
                )
            except ExtractError as exc:
                if exc.transient:
                    raise  # the step's RetryPolicy takes it from here
                raise fail_now(exc) from exc
        by_name = {s.spec.name: s.spec for s in streams(source)}
        for result in run.results:
            for table in by_name[result.stream].tables:
                if raw_key(source, table) in context.selected_asset_keys:
                    yield dg.MaterializeResult(
                        asset_key=raw_key(source, table), metadata=_metadata(result)
                    )
        if raw_key(source, STATUS_TABLE) in context.selected_asset_keys:
            yield dg.MaterializeResult(
                asset_key=raw_key(source, STATUS_TABLE),
                metadata={"streams": [r.stream for r in run.results]},
            )

    return _extract


def raw_assets() -> list[dg.AssetsDefinition]:
    return [build_source_asset(source) for source in SOURCES]
