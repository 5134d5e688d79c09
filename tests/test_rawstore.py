"""The raw layer's guarantees, on DuckDB and on Postgres."""

from __future__ import annotations

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


def test_status_keeps_last_success_on_failure(store):
    from datetime import UTC, datetime

    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    store.write_status(SyncStatus("github", "things", "success", t1, t1, 5, 2, 0, 0.0, "c", None))
    store.write_status(
        SyncStatus("github", "things", "failed", t2, None, 0, 1, 0, 0.0, "c", "boom")
    )
    (row,) = store.status_rows()
    assert row["status"] == "failed" and row["error"] == "boom"
    assert row["last_success_at"] == t1
    assert row["last_attempt_at"] == t2


def test_missing_table_reads_as_empty(store):
    assert list(store.latest("nothing_here")) == []
    assert store.count("nothing_here") == 0
