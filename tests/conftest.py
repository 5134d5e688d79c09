"""Shared fixtures: a running simulator, a raw store, and a helper to sync a source."""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import pytest

from extractors.http import RetryPolicy
from extractors.rawstore import DuckDBSourceStore, duckdb_path
from extractors.sources import SourceRun, sync_source
from platform_kpis.catalog import parse_catalog
from platform_kpis.config import Settings
from simulator.app import Simulator
from simulator.org import Scale

# Fast retries: the simulator's faults are deterministic, waiting only slows tests.
FAST_RETRY = RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_max=0.05, timeout=(2.0, 1.5))
# Real, published API response bodies (tests/fixtures/real/README.md names their sources and
# licences): the simulator's records must have their shape.
REAL_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real"
SMALL = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=15)


@pytest.fixture
def sim():
    with Simulator(seed=7, scale=SMALL, timeout_delay=2.5) as s:
        yield s


def settings_for(sim: Simulator, tmp_path) -> Settings:
    return Settings.from_env({**sim.env(), "PLATFORM_KPIS_HOME": str(tmp_path)})


def run_sync(
    sim: Simulator,
    tmp_path,
    source: str,
    *,
    only=None,
    retry=FAST_RETRY,
    history_start: datetime | None = None,
    run_id: str | None = None,
) -> SourceRun:
    settings = settings_for(sim, tmp_path)
    catalog = parse_catalog(sim.org.catalog())
    with DuckDBSourceStore(duckdb_path(tmp_path, source), source) as store:
        return sync_source(
            source,
            settings,
            catalog,
            store,
            only=only,
            run_id=run_id,
            retry=retry,
            history_start=history_start or sim.org.start,
        )


def open_raw(tmp_path, source: str) -> DuckDBSourceStore:
    return DuckDBSourceStore(duckdb_path(tmp_path, source), source)


PG_DSN_ENV = "PLATFORM_KPIS_TEST_PG_DSN"
DEFAULT_TEST_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fresh_database():
    """A fresh, empty Postgres database; skipped (with the reason) when no server answers.
    CI sets PLATFORM_KPIS_TEST_PG_REQUIRED=1 so a missing server fails instead."""
    import os
    import uuid

    psycopg = pytest.importorskip("psycopg")
    admin = os.environ.get(PG_DSN_ENV, DEFAULT_TEST_PG)
    try:
        con = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("PLATFORM_KPIS_TEST_PG_REQUIRED"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_DSN_ENV} ({admin}): {exc}")
    name = f"pk_test_{uuid.uuid4().hex[:10]}"
    con.execute(f"create database {name}")
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        con.execute(f"drop database if exists {name} with (force)")
        con.close()


@pytest.fixture
def pg_dsn():
    with fresh_database() as dsn:
        yield dsn
