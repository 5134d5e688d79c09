"""Run the stored Great Expectations suites against built marts.

Suites live in ``expectations/suites/*.json`` in GX 1.x shape (``{"type", "kwargs"}``). Each
expectation carries GX's own ``severity``: ``critical`` (the data is wrong: the gate blocks
publication) or ``warning`` (the data is unusual: it publishes and the gate reports it). A
suite validates its mart table (``meta.table``) or, when ``meta.query`` is set, the result of
that query over the mart (group-level facts such as capacity shares summing to 1 per
team-week, or per-period volumes against their trailing mean). ``meta.keys`` names the columns
that identify a row, so a failure shows example keys an operator can look up.
Suite parameters (``{"$PARAMETER": ...}``) are filled at run time from the catalog's
``settings.gate`` (see :mod:`expectations.settings`). DuckDB marts are validated as dataframes
(GX's SQL datasource cannot resolve metrics through duckdb-engine); Postgres marts through GX's
SQL datasource.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from expectations.settings import GateSettings

SUITES_DIR = Path(__file__).resolve().parent / "suites"
EXAMPLES = 5
# GX severities as the gate names them: a "critical" failure blocks publication.
SEVERITIES = {"critical": "error", "warning": "warn"}


@dataclass
class Failure:
    suite: str
    table: str
    expectation: str
    column: str | None
    severity: str  # "error" blocks publication, "warn" does not
    unexpected_count: int | None
    element_count: int | None
    examples: list[dict[str, Any]]  # key columns (and context) of a few offending rows
    observed: Any = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"

    def describe(self) -> str:
        what = f"{self.suite}: {self.expectation}" + (f"({self.column})" if self.column else "")
        if self.unexpected_count:
            return f"{what}: {self.unexpected_count} rows, e.g. {self.examples}"
        return f"{what}: observed {self.observed!r}"


@dataclass
class SuiteResult:
    suite: str
    table: str
    success: bool
    evaluated: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def blocking(self) -> list[Failure]:
        return [f for f in self.failures if f.blocking]

    def metadata(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "expectations": self.evaluated,
            "failed": len(self.failures),
            "blocking": len(self.blocking),
            "failures": [f.describe() for f in self.failures],
        }


def suites() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(SUITES_DIR.glob("*.json"))}


def suites_for(table: str) -> dict[str, dict]:
    return {name: doc for name, doc in suites().items() if doc["meta"]["table"] == table}


def render_query(doc: dict, relation: str, settings: GateSettings) -> str | None:
    query = doc["meta"].get("query")
    if query is None:
        return None
    cases = " ".join(
        f"when '{_word(m)}' then {float(v)!r}" for m, v in settings.coverage_thresholds.items()
    )
    threshold_case = f"case metric {cases} else 0.0 end" if cases else "0.0"
    return query.format(
        table=relation,
        threshold_case=threshold_case,
        trailing_periods=int(settings.trailing_periods),
        min_history=int(settings.min_history),
    )


def parameters(
    previous_rows: int | None, settings: GateSettings, now: datetime | None = None
) -> dict[str, Any]:
    import pandas as pd

    def floor(drop: float) -> int:
        return 0 if not previous_rows else math.ceil(previous_rows * (1 - drop))

    return {
        "now": pd.Timestamp(now or datetime.now(UTC)),
        "min_rows": floor(settings.max_row_drop),
        "min_rows_warn": floor(settings.warn_row_drop),
        "zero_volume_probability": settings.zero_volume_probability,
    }


def _word(value: str) -> str:
    if not re.fullmatch(r"[a-z_0-9]+", value):
        raise ValueError(f"not an identifier: {value!r}")
    return value


def _quiet_gx():
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    ctx = gx.get_context(mode="ephemeral")
    # No tqdm bars in run logs: one per suite drowns what the gate says.
    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return ctx


def _result_format(doc: dict, columns: list[str]) -> dict[str, Any]:
    """SUMMARY, plus the key (and context) columns of a few offending rows; only columns the
    table has, so a broken contract still reports the missing columns instead of erroring."""
    wanted = [*doc["meta"].get("keys", []), *doc["meta"].get("context", [])]
    index = [c for c in wanted if c in columns]
    fmt: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES}
    if index:
        fmt["unexpected_index_column_names"] = index
    return fmt


def _collect(name: str, table: str, result) -> SuiteResult:
    failures = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        res = r.result or {}
        examples = res.get("partial_unexpected_index_list") or [
            {"value": v} for v in res.get("partial_unexpected_list") or []
        ]
        if r.exception_info and r.exception_info.get("raised_exception"):
            observed = r.exception_info.get("exception_message")
        else:
            observed = res.get("observed_value")
        failures.append(
            Failure(
                suite=name,
                table=table,
                expectation=cfg.type,
                column=cfg.kwargs.get("column")
                or cfg.kwargs.get("column_A")
                or ",".join(cfg.kwargs.get("column_list") or [])
                or None,
                severity=SEVERITIES.get(str(getattr(cfg.severity, "value", cfg.severity)), "error"),
                unexpected_count=res.get("unexpected_count"),
                element_count=res.get("element_count"),
                examples=[
                    {str(k): _plain(v) for k, v in e.items()} for e in list(examples)[:EXAMPLES]
                ],
                observed=_plain(observed),
                meta=dict(cfg.meta or {}),
            )
        )
    # Blocking failures first: they are what an operator must act on.
    failures.sort(key=lambda f: not f.blocking)
    return SuiteResult(name, table, not failures, len(result.results), failures)


def _plain(value: Any) -> Any:
    """JSON-friendly values for run metadata (numpy scalars, timestamps, tuples)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        if getattr(value, "tzinfo", 1) is None and value == value.replace(
            hour=0, minute=0, second=0, microsecond=0
        ):
            return value.date().isoformat()  # a DATE key, read back by pandas as midnight
        return value.isoformat()
    return value


def validate_frame(name: str, doc: dict, frame, params: dict[str, Any]) -> SuiteResult:
    """Validate a pandas DataFrame (a DuckDB mart, or a derived query's result)."""
    import great_expectations as gx

    ctx = _quiet_gx()
    suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=doc["expectations"]))
    asset = ctx.data_sources.add_pandas("marts").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe("all")
    definition = ctx.validation_definitions.add(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        expectation_parameters=params,
        result_format=_result_format(doc, list(frame.columns)),
    )
    return _collect(name, doc["meta"]["table"], result)


def validate_duckdb(
    con, schema: str, table: str, params: dict[str, Any], settings: GateSettings | None = None
) -> list[SuiteResult]:
    """Every suite of ``table`` against ``schema.table`` on a DuckDB connection."""
    settings = settings or GateSettings()
    relation = f"{schema}.{_word(table)}"
    results = []
    for name, doc in suites_for(table).items():
        query = render_query(doc, relation, settings) or f"select * from {relation}"
        frame = con.execute(query).df()
        results.append(validate_frame(name, doc, frame, params))
    return results


def _postgres_columns(dsn: str, query: str) -> list[str]:
    import psycopg

    with psycopg.connect(dsn) as con, con.cursor() as cur:
        cur.execute(f"select * from ({query}) as probe limit 0")
        return [d.name for d in cur.description or []]


def validate_postgres(
    dsn: str, schema: str, table: str, params: dict[str, Any], settings: GateSettings | None = None
) -> list[SuiteResult]:
    """Every suite of ``table`` through GX's SQL datasource on Postgres."""
    import great_expectations as gx

    settings = settings or GateSettings()
    relation = f"{schema}.{_word(table)}"
    url = dsn if "+psycopg" in dsn else dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    results = []
    for name, doc in suites_for(table).items():
        ctx = _quiet_gx()
        ds = ctx.data_sources.add_postgres("marts", connection_string=url)
        query = render_query(doc, relation, settings)
        if query is None:
            asset = ds.add_table_asset(name, table_name=_word(table), schema_name=schema)
        else:
            # GX accepts only queries that start with SELECT; ours may open with a CTE.
            asset = ds.add_query_asset(name, query=f"select * from ({query}) as derived")
        batch = asset.add_batch_definition_whole_table("all")
        suite = ctx.suites.add(gx.ExpectationSuite(name=name, expectations=doc["expectations"]))
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        columns = _postgres_columns(dsn, query or f"select * from {relation}")
        result = definition.run(
            expectation_parameters=params, result_format=_result_format(doc, columns)
        )
        results.append(_collect(name, table, result))
    return results
