"""Production shape: Dagster's storage and the warehouse both on Postgres; BI users read the
published marts through a read-only role and nothing else."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from expectations.history import PUBLICATIONS_TABLE
from orchestration.publish_assets import MARTS
from platform_kpis.config import REPO_ROOT
from reporting.render import report_path
from simulator.app import Simulator
from simulator.org import Scale
from tests.marts_support import environment
from tests.pipeline_support import materialized, pipeline_env, run_nightly

SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=12)


@pytest.mark.postgres
def test_nightly_on_postgres_storage_and_warehouse(pg_dsn, tmp_path):
    import psycopg

    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    with (
        Simulator(seed=9, scale=SCALE) as sim,
        environment({"DAGSTER_PG_URL": pg_dsn, "PLATFORM_KPIS_BI_ROLE": "pk_bi_e2e"}),
    ):
        env = pipeline_env(sim, tmp_path / "data", target="postgres", dsn=pg_dsn)
        instance = dg.DagsterInstance.from_config(str(dagster_home))
        try:
            result = run_nightly(env, instance=instance)
            assert result.success
            assert ("marts", "published") in materialized(result)
            # The report reads the published schema in Postgres.
            assert ("marts", "report") in materialized(result)
            assert "Scorecard" in report_path(tmp_path / "data").read_text()
            # The run and its events are in Postgres.
            assert instance.get_run_by_id(result.run_id) is not None
            with psycopg.connect(pg_dsn) as con:
                runs = con.execute("select count(*) from runs").fetchone()[0]
                assert runs >= 1
        finally:
            instance.dispose()

    bi_dsn = pg_dsn.replace("postgres@", "pk_bi_e2e@", 1)
    with psycopg.connect(bi_dsn, autocommit=True) as bi:
        for table in (*MARTS, PUBLICATIONS_TABLE):  # every published table
            assert bi.execute(f"select count(*) from marts.{table}").fetchone()[0] >= 0
        for forbidden in (
            "raw_github.pull_requests",
            "raw_zendesk.tickets",
            "staging.stg_zendesk__tickets",
            "marts_build.fct_tickets",
            "catalog.catalog_members",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute(f"select * from {forbidden} limit 1")
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("drop owned by pk_bi_e2e; drop role pk_bi_e2e")
