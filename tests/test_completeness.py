"""Completeness end to end: synced on a Thursday in March, March and its week are still in
progress (is_complete false, no scorecard change), February and the weeks before are
complete and compared. The as-of time is the simulator's clock, not the host's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from simulator.org import Scale
from tests.marts_support import build_marts, diff_table, read_table

# EPOCH (Monday 5 January 2026) + 66 days: Thursday 12 March 2026, 00:00.
SCALE = Scale(teams=2, repos_per_team=2, members_per_team=3, days=66, customers=15)
MARCH, FEBRUARY = date(2026, 3, 1), date(2026, 2, 1)
WEEK_IN_PROGRESS = date(2026, 3, 9)
COMPLETE_TABLES = (
    "kpi_delivery_weekly",
    "kpi_incidents_weekly",
    "mart_capacity_allocation",
    "kpi_support_monthly",
    "kpi_support_themes_monthly",
    "kpi_cost_to_serve_monthly",
    "kpi_scorecard",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_marts(tmp_path_factory.mktemp("complete"), seed=3, scale=SCALE)


def test_as_of_is_the_simulators_clock(built):
    now = built.sim.clock.now()
    assert now.weekday() == 3 and now.date() == date(2026, 3, 12)
    rows = read_table(built, "pipeline_sync_status")
    assert rows and {r["as_of"] for r in rows} == {now}
    (as_of,) = read_table(built, "int_as_of", schema="intermediate")
    assert as_of["as_of"] == now.replace(tzinfo=None)  # staging keeps naive UTC
    # The host's clock is not the simulator's: every attempt was stamped by the host.
    assert all(abs(r["last_attempt_at"] - r["as_of"]) > timedelta(days=1) for r in rows)


@pytest.mark.parametrize("table", COMPLETE_TABLES)
def test_completeness_equals_truth(built, table):
    differences = diff_table(table, read_table(built, table), built.truth[table])
    assert not differences, "\n".join(differences)


def test_partial_month_is_not_compared(built):
    rows = read_table(built, "kpi_scorecard")
    march = [r for r in rows if r["month_start"] == MARCH]
    february = [r for r in rows if r["month_start"] == FEBRUARY]
    assert march and february
    assert not any(r["is_complete"] for r in march)
    assert all(r["change_pct"] is None for r in march)
    # March keeps its (partial) value and February's as previous_value.
    deployments = {r["month_start"]: r for r in rows if r["kpi"] == "deployments"}
    assert deployments[MARCH]["previous_value"] == deployments[FEBRUARY]["value"] > 0
    assert all(r["is_complete"] for r in february)
    assert deployments[FEBRUARY]["change_pct"] is not None


def test_week_in_progress_is_not_complete(built):
    for table in ("kpi_delivery_weekly", "kpi_incidents_weekly", "mart_capacity_allocation"):
        rows = read_table(built, table)
        weeks = {r["week_start"]: r["is_complete"] for r in rows}
        assert weeks[WEEK_IN_PROGRESS] is False, table
        assert all(done for w, done in weeks.items() if w < WEEK_IN_PROGRESS), table
