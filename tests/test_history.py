"""Publication history: each publication is recorded with what it published; late data that
moves a month readers already saw complete shows up in kpi_restatements, with the value first
published and the value now; the history survives a full dbt rebuild; a publish that fails
midway records nothing."""

from __future__ import annotations

import json
import math
import os
import subprocess
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

import expectations.publish as publish_module
from expectations.history import SNAPSHOT_MARTS, CheckOutcome, Publication, new_publication
from expectations.publish import publish_duckdb, publish_postgres
from orchestration.dbt_assets import dbt_executable
from orchestration.publish_assets import published_path
from simulator.app import Simulator
from simulator.org import Scale
from simulator.truth import kpi_truth
from simulator.truth.history import kpi_restatements
from simulator.zendesk import TicketEvent
from tests.marts_support import DBT_DIR, environment
from tests.pipeline_support import materialized, pipeline_env, run_nightly
from warehouse.catalog_tables import dbt_env

# 63 days from 2026-01-05: the first night (2026-03-09) publishes February complete (the
# organisation's customers arrive from February 1), and the simulator's incident opened ten
# days before that night, in February, is resolved twelve hours after it.
SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=63, customers=15)
MONTH = date(2026, 2, 1)
RESTATED = ("mttr_hours", "tickets_per_1k_customers")


def published(home, query: str) -> list[tuple]:
    con = duckdb.connect(str(published_path(home)), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def warehouse(home, query: str) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


RESTATEMENT_COLUMNS = "month_start, kpi, first_published_at, first_value, current_value, change"


def check_restatements(rows: list[tuple], first_at, truth_first, truth_second) -> None:
    """The restatements published are those of the simulator's truth at the two nights
    (simulator/truth/history.py); among them MONTH's MTTR and tickets per 1K customers."""
    got = {(month, kpi): tuple(rest) for month, kpi, *rest in rows}
    want = {
        (r["month_start"], r["kpi"]): (
            r["first_published_at"],
            r["first_value"],
            r["current_value"],
            r["change"],
        )
        for r in kpi_restatements([(first_at, truth_first)], truth_second)
    }
    assert set(got) == set(want), (sorted(set(got) - set(want)), sorted(set(want) - set(got)))
    for key, values in want.items():
        assert all(same(a, b) for a, b in zip(got[key], values, strict=True)), (key, got[key])
    assert {(MONTH, kpi) for kpi in RESTATED} <= set(got)
    # One ticket fewer in the month: fewer tickets per 1K customers.
    assert got[(MONTH, "tickets_per_1k_customers")][3] < 0


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def delete_a_ticket_of_the_month_later(sim: Simulator) -> int:
    """A ticket of MONTH, unchanged since, is deleted after the first publication."""
    now = sim.clock.now()
    ticket = next(
        t
        for t in sim.zendesk_model.tickets
        if t.created_at.date() >= MONTH
        and t.created_at.month == MONTH.month
        and not t.is_deleted(now)
        and t.events[-1].at < now
    )
    ticket.events.append(TicketEvent(now + timedelta(hours=1), "delete", {"status": "deleted"}))
    ticket.__post_init__()  # re-index the timeline's times
    return ticket.id


@pytest.fixture(scope="module")
def two_publications(tmp_path_factory):
    """Night one publishes January complete; late data arrives; night two publishes again."""
    home = tmp_path_factory.mktemp("history")
    sim = Simulator(seed=5, scale=SCALE).start()
    env = pipeline_env(sim, home)
    first = run_nightly(env)
    assert first.success
    truth_first = kpi_truth(sim)["kpi_scorecard"]
    delete_a_ticket_of_the_month_later(sim)
    sim.advance(days=1)
    second = run_nightly(env)
    assert second.success
    truth_second = kpi_truth(sim)["kpi_scorecard"]
    yield sim, env, home, truth_first, truth_second
    sim.stop()


def test_late_data_restates_the_months_readers_saw(two_publications):
    sim, env, home, truth_first, truth_second = two_publications
    publications = published(
        home, "select publication_id, published_at, as_of, warnings from marts.publications"
    )
    assert len(publications) == 2
    (first_id, first_at, first_as_of, _), (second_id, _, second_as_of, _) = sorted(
        publications, key=lambda p: p[1]
    )
    assert first_id != second_id
    assert second_as_of - first_as_of == timedelta(days=1)

    check_restatements(
        published(home, f"select {RESTATEMENT_COLUMNS} from marts.kpi_restatements"),
        first_at,
        truth_first,
        truth_second,
    )
    # Only months complete at the first publication can be restated: March was open.
    assert all(
        month <= MONTH
        for (month,) in published(home, "select month_start from marts.kpi_restatements")
    )


def test_history_keeps_each_publication_with_its_marks_and_snapshots(two_publications):
    sim, env, home, *_ = two_publications
    rows = warehouse(
        home,
        "select publication_id, warning_count, high_water_marks, gate_results "
        "from history.publications order by published_at",
    )
    assert len(rows) == 2
    marks = json.loads(rows[0][2])
    assert {"zendesk/tickets", "pagerduty/incidents", "github/deployments"} <= set(marks)
    assert marks["zendesk/tickets"]["cursor"]
    assert json.loads(rows[1][2])["zendesk/tickets"]["cursor"] != marks["zendesk/tickets"]["cursor"]
    gate = json.loads(rows[0][3])
    assert gate["expectations_kpi_scorecard"]["passed"] is True
    snapshots = warehouse(
        home,
        "select publication_id, count(*) from history.scorecard_snapshots group by 1 order by 1",
    )
    assert {pid for pid, _ in snapshots} == {r[0] for r in rows}
    marts = warehouse(home, "select distinct mart from history.mart_snapshots order by 1")
    assert [m for (m,) in marts] == [
        "kpi_cost_to_serve_monthly",
        "kpi_support_monthly",
        "kpi_support_themes_monthly",
    ]


def test_a_publish_that_fails_midway_records_nothing(two_publications, monkeypatch):
    sim, env, home, *_ = two_publications
    ids = warehouse(home, "select publication_id from history.publications order by 1")
    yesterday = published_path(home).read_bytes()

    def killed(*args, **kwargs):
        raise OSError("killed before the published file was swapped in")

    monkeypatch.setattr(publish_module.os, "replace", killed)
    result = run_nightly(env)
    assert not result.success
    assert ("marts", "published") not in materialized(result)
    assert published_path(home).read_bytes() == yesterday
    assert warehouse(home, "select publication_id from history.publications order by 1") == ids
    monkeypatch.undo()
    # Its snapshots were written (first) and stay orphans: no publications row names them.
    orphans = warehouse(
        home,
        "select count(*) from history.scorecard_snapshots where publication_id not in "
        "(select publication_id from history.publications)",
    )
    assert orphans[0][0] > 0


def full_refresh(home) -> None:
    """``dbt build --full-refresh`` as an operator runs it: its own process, so its DuckDB
    connection (the raw files attached) is gone before the next night extracts."""
    subprocess.run(
        [
            dbt_executable(),
            "build",
            "--full-refresh",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(home / "dbt_target_refresh"),
            "--quiet",
        ],
        env={**os.environ, **dbt_env(target="duckdb", home=home)},
        check=True,
    )


def test_history_survives_a_full_refresh(two_publications):
    """Also the night after the failed publish above: its orphan snapshots count for nothing."""
    sim, env, home, *_ = two_publications
    before = published(home, "select * from marts.kpi_restatements order by 1, 2")
    assert before
    listed = published(home, "select publication_id from marts.publications")
    full_refresh(home)
    assert run_nightly(env).success
    assert len(published(home, "select * from marts.publications")) == len(listed) + 1
    after = published(home, "select * from marts.kpi_restatements order by 1, 2")
    # The same restatements, first published at the same time with the same value; the
    # current values as rebuilt (a full rebuild may sum floats in another order).
    assert [row[:4] for row in after] == [row[:4] for row in before]
    assert all(
        same(a, b) for x, y in zip(after, before, strict=True) for a, b in zip(x, y, strict=True)
    )


# --- the publish step's write order, on a small warehouse ---------------------------------


def small_warehouse(path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts_build")
    con.execute(
        "create or replace table marts_build.kpi_scorecard as select * from (values "
        "(date '2026-02-01', 'mttr_hours', 3.5, true, 4)) "
        "t(month_start, kpi, value, is_complete, n)"
    )
    for mart in SNAPSHOT_MARTS:
        con.execute(
            f"create or replace table marts_build.{mart} as "
            "select date '2026-02-01' as month_start, 12 as tickets"
        )
    con.close()


def publication(n: int, at: datetime) -> Publication:
    status = [
        {
            "source": "zendesk",
            "stream": "tickets",
            "cursor": f"c{n}",
            "last_success_at": at,
            "as_of": at,
        }
    ]
    check = CheckOutcome("expectations_fct_tickets", False, "WARN", 1, ("[WARN, published] x",))
    return new_publication(status, [check], now=at + timedelta(minutes=n))


def test_publish_order_never_records_what_was_not_published(tmp_path, monkeypatch):
    wh, pub = tmp_path / "warehouse.duckdb", tmp_path / "published" / "platform_kpis.duckdb"
    small_warehouse(wh)
    at = datetime(2026, 3, 9, tzinfo=UTC)

    def history_ids() -> list[str]:
        return [
            r[0]
            for r in warehouse(
                tmp_path, "select publication_id from history.publications order by 1"
            )
        ]

    def listed() -> list[str]:
        con = duckdb.connect(str(pub), read_only=True)
        try:
            return [
                r[0]
                for r in con.execute(
                    "select publication_id from marts.publications order by 1"
                ).fetchall()
            ]
        finally:
            con.close()

    first = publication(1, at)
    publish_duckdb(wh, "marts_build", ["kpi_scorecard"], pub, first)
    assert history_ids() == listed() == [first.publication_id]
    row = warehouse(tmp_path, "select as_of, warnings, warning_count from history.publications")
    assert row == [(at, "[WARN, published] x", 1)]
    gate = warehouse(tmp_path, "select gate_results from history.publications")[0][0]
    assert json.loads(gate) == {
        "expectations_fct_tickets": {"passed": False, "severity": "WARN", "failed": 1}
    }

    # Killed before the swap: the old file stays, history is unchanged, the snapshots orphaned.
    yesterday = pub.read_bytes()
    monkeypatch.setattr(
        publish_module.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("killed"))
    )
    with pytest.raises(OSError):
        publish_duckdb(wh, "marts_build", ["kpi_scorecard"], pub, publication(2, at))
    monkeypatch.undo()
    assert pub.read_bytes() == yesterday
    assert history_ids() == [first.publication_id]

    # Killed after the swap, before history's row: readers got it, so the next one adopts it.
    third = publication(3, at)
    monkeypatch.setattr(publish_module, "INSERT_PUBLICATION", "killed {marks}")
    with pytest.raises(duckdb.Error):
        publish_duckdb(wh, "marts_build", ["kpi_scorecard"], pub, third)
    monkeypatch.undo()
    assert listed() == sorted([first.publication_id, third.publication_id])
    assert history_ids() == [first.publication_id]
    fourth = publication(4, at)
    publish_duckdb(wh, "marts_build", ["kpi_scorecard"], pub, fourth)
    assert (
        history_ids()
        == listed()
        == sorted([first.publication_id, third.publication_id, fourth.publication_id])
    )


@pytest.mark.postgres
def test_postgres_publishes_history_and_restatements_to_the_bi_role(pg_dsn, tmp_path):
    import psycopg

    role = "pk_bi_history"
    with (
        Simulator(seed=5, scale=SCALE) as sim,
        environment({"PLATFORM_KPIS_BI_ROLE": role}),
    ):
        env = pipeline_env(sim, tmp_path / "data", target="postgres", dsn=pg_dsn)
        assert run_nightly(env).success
        truth_first = kpi_truth(sim)["kpi_scorecard"]
        delete_a_ticket_of_the_month_later(sim)
        sim.advance(days=1)
        assert run_nightly(env).success
        truth_second = kpi_truth(sim)["kpi_scorecard"]

    def state(con) -> tuple:
        return tuple(
            con.execute(f"select * from {table} order by 1, 2").fetchall()
            for table in ("history.publications", "marts.publications", "marts.kpi_restatements")
        )

    with psycopg.connect(pg_dsn, autocommit=True) as con:
        before = state(con)
        # A publish that fails midway (a mart that cannot be copied) records nothing.
        with pytest.raises(psycopg.errors.UndefinedTable):
            publish_postgres(
                pg_dsn,
                "marts_build",
                ["kpi_scorecard", "no_such_mart"],
                bi_role=role,
                publication=publication(9, datetime.now(UTC)),
            )
        assert state(con) == before
        orphans = con.execute(
            "select count(*) from history.scorecard_snapshots s where not exists "
            "(select 1 from history.publications p where p.publication_id = s.publication_id)"
        ).fetchone()[0]
        assert orphans == 0

    bi_dsn = pg_dsn.replace("postgres@", f"{role}@", 1)
    with psycopg.connect(bi_dsn, autocommit=True) as bi:
        publications = bi.execute(
            "select published_at from marts.publications order by published_at"
        ).fetchall()
        assert len(publications) == 2
        rows = bi.execute(f"select {RESTATEMENT_COLUMNS} from marts.kpi_restatements").fetchall()
        check_restatements(rows, publications[0][0], truth_first, truth_second)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("select * from history.publications")
    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute(f"drop owned by {role}; drop role {role}")
