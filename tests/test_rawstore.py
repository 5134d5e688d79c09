"""The raw layer's guarantees, on DuckDB and on Postgres."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extractors.base import Page, RawRecord
from extractors.rawstore import DuckDBSourceStore, PostgresSourceStore, SyncStatus


@pytest.fixture(params=["duckdb", "postgres"])
def store(request, tmp_path):
    if request.param == "duckdb":
        s = DuckDBSourceStore(tmp_path / "raw" / "github.duckdb", "github")
    else:
        s = PostgresSourceStore(request.getfixturevalue("pg_dsn"), "github")
    yield s
    s.close()


def page(state: dict, *records: tuple[str, dict], table: str = "things") -> Page:
    return Page({table: [RawRecord(k, d, {"repo": "acme/x"}) for k, d in records]}, state)


def versions(store, table="things") -> list[tuple[str, dict]]:
    return sorted((k, r) for k, r, _ in store.latest(table))


def test_commit_appends_changed_versions_only(store):
    assert store.commit("things", page({"c": 1}, ("a", {"v": 1}), ("b", {"v": 1})), "r1") == 2
    # Same content again (an overlap re-read): nothing appended.
    assert store.commit("things", page({"c": 2}, ("a", {"v": 1})), "r2") == 0
    # A changes, then changes back: both are new versions relative to the latest.
    assert store.commit("things", page({"c": 3}, ("a", {"v": 2})), "r3") == 1
    assert store.commit("things", page({"c": 4}, ("a", {"v": 1})), "r4") == 1
    assert store.count("things") == 4
    assert store.count("things", distinct_keys=True) == 2
    assert versions(store) == [("a", {"v": 1}), ("b", {"v": 1})]
    assert store.state("things") == {"c": 4}


def test_duplicate_keys_within_a_page_keep_the_last(store):
    store.commit("things", page({}, ("a", {"v": 1}), ("a", {"v": 2})), "r1")
    assert versions(store) == [("a", {"v": 2})]
    assert store.count("things") == 1


def test_state_and_rows_roll_back_together(store, monkeypatch):
    store.commit("things", page({"cursor": "p1"}, ("a", {"v": 1})), "r1")
    import extractors.rawstore as rawstore

    real = rawstore._canonical

    def failing(value):  # the state write fails after the rows were inserted
        if isinstance(value, dict) and value.get("cursor") == "p2":
            raise RuntimeError("disk full")
        return real(value)

    monkeypatch.setattr(rawstore, "_canonical", failing)
    with pytest.raises(RuntimeError):
        store.commit("things", page({"cursor": "p2"}, ("b", {"v": 1})), "r2")
    assert store.state("things") == {"cursor": "p1"}
    assert versions(store) == [("a", {"v": 1})]


def test_status_keeps_last_success_and_as_of_on_failure(store):
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    server = datetime(2025, 12, 31, 23, 59, 58, tzinfo=UTC)  # the API's clock lags the host's
    store.write_status(
        SyncStatus("github", "things", "success", t1, t1, 5, 2, 0, 0.0, "c", None, server)
    )
    store.write_status(
        SyncStatus("github", "things", "failed", t2, None, 0, 1, 0, 0.0, "c", "boom", None)
    )
    (row,) = store.status_rows()
    assert row["status"] == "failed" and row["error"] == "boom"
    assert row["last_success_at"] == t1
    assert row["last_attempt_at"] == t2
    assert row["as_of"] == server
    later = datetime(2026, 1, 2, 0, 0, 7, tzinfo=UTC)
    store.write_status(
        SyncStatus("github", "things", "success", t2, t2, 1, 1, 0, 0.0, "d", None, later)
    )
    (row,) = store.status_rows()
    assert (row["status"], row["as_of"]) == ("success", later)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_status_table_without_as_of_gains_it(target, tmp_path, request):
    """A raw layer written before as_of existed: opening it adds the column, old rows read
    NULL and the next sync writes it."""
    t1 = datetime(2026, 1, 1, tzinfo=UTC)
    old_columns = """source varchar not null, stream varchar not null, status varchar not null,
        last_attempt_at timestamptz, last_success_at timestamptz, records bigint,
        requests bigint, retries bigint, throttled_seconds double precision, cursor varchar,
        error varchar, primary key (source, stream)"""
    old_row = "('github', 'old', 'success', '2026-01-01', '2026-01-01', 1, 1, 0, 0, null, null)"
    if target == "duckdb":
        import duckdb

        path = tmp_path / "raw" / "github.duckdb"
        path.parent.mkdir()
        with duckdb.connect(str(path)) as con:
            con.execute(f"create table pipeline_sync_status ({old_columns})")
            con.execute(f"insert into pipeline_sync_status values {old_row}")
        store = DuckDBSourceStore(path, "github")
    else:
        import psycopg

        dsn = request.getfixturevalue("pg_dsn")
        with psycopg.connect(dsn) as con:
            con.execute("create schema raw_github")
            con.execute(f"create table raw_github.pipeline_sync_status ({old_columns})")
            con.execute(f"insert into raw_github.pipeline_sync_status values {old_row}")
        store = PostgresSourceStore(dsn, "github")
    with store:
        store.write_status(
            SyncStatus("github", "new", "success", t1, t1, 1, 1, 0, 0.0, None, None, t1)
        )
        rows = {r["stream"]: r for r in store.status_rows()}
    assert rows["old"]["as_of"] is None and rows["old"]["last_success_at"] == t1
    assert rows["new"]["as_of"] == t1


def test_missing_table_reads_as_empty(store):
    assert list(store.latest("nothing_here")) == []
    assert store.count("nothing_here") == 0
