"""Publication is atomic: readers never see an error or a mix of old and new marts."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import duckdb
import pytest

from expectations.publish import ensure_bi_role, publish_duckdb, publish_postgres

TABLES = ["kpi_a", "kpi_b", "kpi_c"]


def build_version(warehouse: Path, version: int) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute("create schema if not exists marts_build")
    for t in TABLES:
        con.execute(
            f"create or replace table marts_build.{t} as "
            f"select {version} as version, range as i from range(20000)"
        )
    con.close()


def _reader(path: str, stop, ready, out) -> None:
    reads, errors, mixes = 0, [], 0
    while not stop.is_set():
        try:
            con = duckdb.connect(path, read_only=True)
            versions = {
                con.execute(
                    f"select min(version), max(version), count(*) from marts.{t}"
                ).fetchone()
                for t in TABLES
            }
            con.close()
            reads += 1
            ready.set()
            if len(versions) != 1:
                mixes += 1
        except Exception as exc:  # noqa: BLE001 - any error is what the test counts
            errors.append(repr(exc))
    out.put((reads, errors[:3], len(errors), mixes))


def test_readers_never_see_errors_or_mixed_versions(tmp_path):
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "pub" / "platform_kpis.duckdb"
    build_version(warehouse, 0)
    publish_duckdb(warehouse, "marts_build", TABLES, published)
    ctx = mp.get_context("spawn")
    out, stop, ready = ctx.Queue(), ctx.Event(), ctx.Event()
    reader = ctx.Process(target=_reader, args=(str(published), stop, ready, out))
    reader.start()
    assert ready.wait(timeout=60), "the reader process never read the published file"
    publishes = 0
    for version in range(1, 8):
        build_version(warehouse, version)
        publish_duckdb(warehouse, "marts_build", TABLES, published)
        publishes += 1
        time.sleep(0.1)
    stop.set()
    reads, sample, n_errors, mixes = out.get(timeout=30)
    reader.join(timeout=30)
    assert publishes == 7 and reads > 5
    assert n_errors == 0, sample
    assert mixes == 0
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("select distinct version from marts.kpi_c").fetchall() == [(7,)]
    assert sorted(p.name for p in published.parent.iterdir()) == ["platform_kpis.duckdb"]


def test_failed_publish_leaves_the_previous_file(tmp_path):
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "platform_kpis.duckdb"
    build_version(warehouse, 1)
    publish_duckdb(warehouse, "marts_build", TABLES, published)
    before = published.read_bytes()
    with pytest.raises(duckdb.CatalogException):
        publish_duckdb(warehouse, "marts_build", [*TABLES, "kpi_missing"], published)
    assert published.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "platform_kpis.duckdb",
        "warehouse.duckdb",
    ]


@pytest.mark.postgres
def test_postgres_swap_and_bi_role(pg_dsn):
    import psycopg

    role = "pk_bi_reader_test"
    ensure_bi_role(pg_dsn, role)
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("create schema marts_build; create schema raw_github")
        con.execute("create table raw_github.pull_requests as select 'secret@x' as email")
        for t in TABLES:
            con.execute(f"create table marts_build.{t} as select 1 as version")
    publish_postgres(pg_dsn, "marts_build", TABLES, bi_role=role)
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        for t in TABLES:
            con.execute(f"update marts_build.{t} set version = 2")
    publish_postgres(pg_dsn, "marts_build", TABLES, bi_role=role)
    bi_dsn = pg_dsn.replace("postgres@", f"{role}@", 1)
    with psycopg.connect(bi_dsn, autocommit=True) as bi:
        for t in TABLES:
            assert bi.execute(f"select version from marts.{t}").fetchall() == [(2,)]
        for forbidden in ("raw_github.pull_requests", "marts_build.kpi_a"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bi.execute(f"select * from {forbidden}")
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        schemas = {
            r[0]
            for r in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
        assert not any(s.startswith(("marts_next_", "marts_old_")) for s in schemas)
        con.execute(f"drop owned by {role}; drop role {role}")
