"""Incremental staging: after a day of new raw rows, an incremental ``dbt build`` gives the same
staging tables and contract marts as ``dbt build --full-refresh``, on DuckDB and on Postgres.
The incremental run really read only the rows above each model's watermark, and a raw layer
rebuilt under a model stops the next incremental run instead of leaving rows out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from extractors.rawstore import SOURCES, duckdb_path, open_store
from extractors.sources import sync_source
from platform_kpis.catalog import parse_catalog
from platform_kpis.config import Settings
from simulator.app import Simulator
from simulator.org import Scale
from tests.conftest import FAST_RETRY
from tests.marts_support import (
    DBT_DIR,
    KEYS,
    Built,
    _norm,
    diff_table,
    read_table,
)
from warehouse.catalog_tables import dbt_env, ensure_raw_layer, write_catalog

SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=12)
SEED = 7

# The staging models built incrementally (the others are small tables, rebuilt every time).
INCREMENTAL = {
    "stg_github__pull_requests",
    "stg_github__pull_request_labels",
    "stg_github__pr_commits",
    "stg_github__deployments",
    "stg_github__deployment_statuses",
    "stg_github__workflow_runs",
    "stg_github__compares",
    "stg_github__compare_commits",
    "stg_pagerduty__incidents",
    "stg_pagerduty__log_entries",
    "stg_zendesk__tickets",
    "stg_zendesk__ticket_tags",
    "stg_zendesk__ticket_custom_fields",
}
# Committed marts that must take part in the comparison (the other contract tables are compared
# whenever they build).
REQUIRED_MARTS = {"fct_deployments", "fct_changes", "kpi_delivery_weekly"}


@dataclass
class Result:
    """One node's entry of run_results.json and of the manifest."""

    run: dict[str, Any]
    node: dict[str, Any]

    @property
    def name(self) -> str:
        return self.node["name"]

    @property
    def status(self) -> str:
        return self.run["status"]


@dataclass
class Warehouse:
    target: str
    home: Path
    dsn: str | None = None

    def sync(self, sim: Simulator) -> None:
        """Every source from the simulator into the raw layer, then the catalog."""
        env = {
            **sim.env(),
            "PLATFORM_KPIS_HOME": str(self.home),
            "PLATFORM_KPIS_TARGET": self.target,
        }
        if self.dsn:
            env["PLATFORM_KPIS_PG_DSN"] = self.dsn
        settings = Settings.from_env(env)
        catalog = parse_catalog(sim.org.catalog())
        for source in SOURCES:
            with open_store(source, target=self.target, home=self.home, dsn=self.dsn) as store:
                sync_source(
                    source, settings, catalog, store, retry=FAST_RETRY, history_start=sim.org.start
                )
        write_catalog(catalog, target=self.target, home=self.home, dsn=self.dsn)
        ensure_raw_layer(target=self.target, home=self.home, dsn=self.dsn)

    def dbt(self, *args: str) -> dict[str, Result]:
        """dbt in a subprocess, as the pipeline runs it (in this process dbt-duckdb would keep
        the raw files attached and the extractors could not write them); every node's result
        by unique_id. No raise: a mart still being written elsewhere may fail (identically in
        both builds)."""
        target_path = self.home / "dbt_target"
        (target_path / "run_results.json").unlink(missing_ok=True)
        subprocess.run(
            [
                str(Path(sys.executable).parent / "dbt"),
                *args,
                "--project-dir",
                str(DBT_DIR),
                "--profiles-dir",
                str(DBT_DIR),
                "--target-path",
                str(target_path),
                "--log-path",
                str(self.home / "dbt_logs"),
                "--quiet",
            ],
            env={**os.environ, **dbt_env(target=self.target, home=self.home, dsn=self.dsn)},
            check=False,
            timeout=1200,
        )
        nodes = json.loads((target_path / "manifest.json").read_text())
        nodes = {**nodes["nodes"], **nodes["unit_tests"]}
        run = json.loads((target_path / "run_results.json").read_text())
        return {r["unique_id"]: Result(r, nodes[r["unique_id"]]) for r in run["results"]}

    def query(self, sql: str) -> list[tuple]:
        if self.target == "duckdb":
            import duckdb

            # Not read_only: dbt's connection in this process may still hold the file.
            con = duckdb.connect(str(self.home / "warehouse.duckdb"))
            try:
                cur = con.execute(sql)
                return cur.fetchall() if cur.description else []
            finally:
                con.close()
        import psycopg

        with psycopg.connect(self.dsn) as con:
            cur = con.execute(sql)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def built(self) -> Built:
        return Built(self.target, self.home, self.dsn, {}, None)  # type: ignore[arg-type]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return Warehouse("duckdb", tmp_path)
    return Warehouse("postgres", tmp_path, request.getfixturevalue("pg_dsn"))


def staging_results(results: dict[str, Result]) -> dict[str, Result]:
    return {
        r.name: r
        for r in results.values()
        if r.node["resource_type"] == "model" and r.node["fqn"][1] == "staging"
    }


def assert_staging_built(results: dict[str, Result]) -> None:
    staging = staging_results(results)
    failed = {name: r.run["message"] for name, r in staging.items() if r.status != "success"}
    assert not failed, failed
    incremental = {
        name for name, r in staging.items() if r.node["config"]["materialized"] == "incremental"
    }
    assert incremental == INCREMENTAL


def outcomes(results: dict[str, Result]) -> dict[str, tuple[str, Any]]:
    return {uid: (r.status, r.run["failures"]) for uid, r in results.items()}


def rows(warehouse: Warehouse, model: str) -> Counter:
    return Counter(
        tuple(_norm(v) for v in row) for row in warehouse.query(f"select * from staging.{model}")
    )


def watermarks(warehouse: Warehouse) -> dict[str, int]:
    return {
        m: warehouse.query(f"select max(_ingest_id) from staging.{m}")[0][0] for m in INCREMENTAL
    }


@pytest.mark.slow
def test_incremental_build_equals_full_refresh(warehouse):
    with Simulator(seed=SEED, scale=SCALE) as sim:
        warehouse.sync(sim)
        assert_staging_built(warehouse.dbt("build"))
        before = watermarks(warehouse)
        sim.advance(days=1)
        warehouse.sync(sim)

    incremental = warehouse.dbt("build")
    assert_staging_built(incremental)
    after = watermarks(warehouse)
    grown = {m for m in INCREMENTAL if after[m] > before[m]}
    assert {
        "stg_github__pull_requests",
        "stg_pagerduty__incidents",
        "stg_zendesk__tickets",
    } <= grown, "the day added too little to test"
    # Each incremental model read only the raw rows above its watermark and merged them.
    for name, result in staging_results(incremental).items():
        if name in INCREMENTAL:
            assert f"ingest_id > {before[name]}" in result.run["compiled_code"], name
            run_sql = (
                (
                    warehouse.home
                    / "dbt_target"
                    / "run"
                    / "platform_kpis"
                    / result.node["original_file_path"]
                )
                .read_text()
                .lower()
            )
            assert "delete from" in run_sql and "insert into" in run_sql, name

    staging_incremental = {m: rows(warehouse, m) for m in INCREMENTAL}
    marts_built = {
        r.name
        for r in incremental.values()
        if r.node["resource_type"] == "model" and r.status == "success"
    }
    compared = sorted(set(KEYS) & marts_built)
    assert REQUIRED_MARTS <= set(compared)
    marts_incremental = {t: read_table(warehouse.built(), t) for t in compared}

    full = warehouse.dbt("build", "--full-refresh")
    # Every node (models, data tests with their failure counts, unit tests) ends the same way.
    assert outcomes(full) == outcomes(incremental)
    for model in sorted(INCREMENTAL):
        got, want = staging_incremental[model], rows(warehouse, model)
        assert got == want, (
            f"{model}: incremental only {list((got - want).items())[:3]}, "
            f"full refresh only {list((want - got).items())[:3]}"
        )
    differences = []
    for table in compared:
        full_rows = read_table(warehouse.built(), table)
        assert full_rows, f"{table} is empty: the scenario is too small"
        differences += diff_table(table, marts_incremental[table], full_rows)
        differences += diff_table(table, full_rows, marts_incremental[table])
    assert not differences, "\n".join(differences)

    # An incremental run does not re-read old raw rows: a row deleted from the model (below
    # the watermark, its key unchanged) stays deleted; a full refresh restores it.
    model = "stg_github__pr_commits"
    count = warehouse.query(f"select count(*) from staging.{model}")[0][0]
    oldest = warehouse.query(f"select min(_ingest_id) from staging.{model}")[0][0]
    warehouse.query(f"delete from staging.{model} where _ingest_id = {oldest}")
    warehouse.dbt("run", "--select", model)
    assert warehouse.query(f"select count(*) from staging.{model}")[0][0] == count - 1
    warehouse.dbt("run", "--select", model, "--full-refresh")
    assert warehouse.query(f"select count(*) from staging.{model}")[0][0] == count

    # The raw layer rebuilt under the model (emptied here): the incremental run fails and
    # asks for a full refresh rather than reading nothing above its old watermark.
    if warehouse.target == "duckdb":
        duckdb_path(warehouse.home, "github").unlink()
    else:
        warehouse.query("drop table raw_github.pr_commits")
    ensure_raw_layer(target=warehouse.target, home=warehouse.home, dsn=warehouse.dsn)
    (result,) = warehouse.dbt("run", "--select", model).values()
    assert result.status == "error"
    assert "raw layer was rebuilt" in result.run["message"]
    assert f"dbt build --full-refresh --select {model}" in result.run["message"]
    (result,) = warehouse.dbt("run", "--select", model, "--full-refresh").values()
    assert result.status == "success"
    assert warehouse.query(f"select count(*) from staging.{model}") == [(0,)]


def test_a_version_without_children_removes_the_old_ones(tmp_path):
    """delete+insert replaces only the keys the new rows name: a ticket whose new version has
    no tags (a compare now answered 404, a PR with its labels removed) names none, and the
    child models' pre-hook must delete the old rows."""
    from extractors.base import Page, RawRecord

    warehouse = Warehouse("duckdb", tmp_path)
    repo, compare = "acme/web", "acme/web#a1...b2"
    commits = [{"sha": "c1", "commit": {"author": {"date": "2024-01-01T00:00:00Z"}}}]

    def commit(source: str, stream: str, records: list[RawRecord]) -> None:
        with open_store(source, target="duckdb", home=tmp_path) as store:
            store.commit(stream, Page(records={stream: records}, state={}), run_id="test")

    def ticket(ticket_id: int, tags: list[str], fields: list[dict]) -> RawRecord:
        return RawRecord(
            str(ticket_id),
            {"id": ticket_id, "status": "open", "tags": tags, "custom_fields": fields},
        )

    commit(
        "zendesk",
        "tickets",
        [
            ticket(1, ["a", "b"], [{"id": 9, "value": "5"}]),
            ticket(2, ["c"], [{"id": 9, "value": "7"}]),
        ],
    )
    commit(
        "github",
        "compares",
        [
            RawRecord(
                compare,
                {"status": "ahead", "commits": commits},
                {"repo": repo, "base": "a1", "head": "b2"},
            )
        ],
    )
    commit(
        "github",
        "pull_requests",
        [
            RawRecord(
                f"{repo}#1", {"number": 1, "labels": [{"id": 5, "name": "bug"}]}, {"repo": repo}
            )
        ],
    )
    ensure_raw_layer(target="duckdb", home=tmp_path)
    children = (
        "stg_zendesk__ticket_tags",
        "stg_zendesk__ticket_custom_fields",
        "stg_github__compare_commits",
        "stg_github__pull_request_labels",
    )
    first = warehouse.dbt("run", "--select", *children)
    assert {r.status for r in first.values()} == {"success"}
    assert warehouse.query(
        "select ticket_id, tag from staging.stg_zendesk__ticket_tags order by all"
    ) == [(1, "a"), (1, "b"), (2, "c")]

    commit("zendesk", "tickets", [ticket(1, [], [])])
    commit(
        "github",
        "compares",
        [
            RawRecord(
                compare,
                {"message": "Not Found"},
                {"repo": repo, "base": "a1", "head": "b2", "http_status": 404},
            )
        ],
    )
    commit(
        "github",
        "pull_requests",
        [RawRecord(f"{repo}#1", {"number": 1, "labels": []}, {"repo": repo})],
    )
    second = warehouse.dbt("run", "--select", *children)
    assert {r.status for r in second.values()} == {"success"}
    assert all("ingest_id >" in r.run["compiled_code"] for r in second.values())
    assert warehouse.query(
        "select ticket_id, tag from staging.stg_zendesk__ticket_tags order by all"
    ) == [(2, "c")]
    assert warehouse.query(
        "select ticket_id, field_value from staging.stg_zendesk__ticket_custom_fields"
    ) == [(2, "7")]
    assert warehouse.query("select count(*) from staging.stg_github__compare_commits") == [(0,)]
    assert warehouse.query("select count(*) from staging.stg_github__pull_request_labels") == [(0,)]

    # A table built before the model became incremental: a clear error, not a SQL one.
    warehouse.query("alter table staging.stg_zendesk__ticket_tags drop column _ingest_id")
    (result,) = warehouse.dbt("run", "--select", "stg_zendesk__ticket_tags").values()
    assert result.status == "error"
    assert "built before it became incremental" in result.run["message"]
