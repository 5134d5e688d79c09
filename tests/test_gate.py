"""The expectation suites catch the bad data a BI user would otherwise see."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from expectations.gate import (
    GateSettings,
    parameters,
    suites,
    validate_duckdb,
    validate_postgres,
)

NOW = datetime(2026, 3, 2, tzinfo=UTC)

INCIDENTS = """
create table marts_build.fct_incidents as select * from (values
  ('P1', 'S1', 'checkout', 'high', timestamptz '2026-02-01 10:00:00+00',
   timestamptz '2026-02-01 10:05:00+00', timestamptz '2026-02-01 12:00:00+00', 5.0, 2.0, 1, 2.0),
  ('P2', 'S1', 'checkout', 'low', timestamptz '2026-02-03 10:00:00+00', null,
   timestamptz '2026-02-03 09:00:00+00', null, -1.0, 0, -1.0)
) t(incident_id, service_id, team, urgency, created_at, acknowledged_at, resolved_at,
    time_to_ack_minutes, time_to_resolve_hours, responders, ops_hours)
"""


def failures(results) -> dict[str, str]:
    return {f.expectation + ":" + str(f.column): f.describe() for r in results for f in r.failures}


def test_every_contract_table_has_a_suite():
    tables = {doc["meta"]["table"] for doc in suites().values()}
    assert {
        "fct_deployments",
        "fct_changes",
        "fct_incidents",
        "fct_tickets",
        "kpi_delivery_weekly",
        "kpi_incidents_weekly",
        "kpi_support_monthly",
        "kpi_cost_to_serve_monthly",
        "mart_capacity_allocation",
        "kpi_scorecard",
        "kpi_coverage",
        "pipeline_sync_status",
    } <= tables
    for doc in suites().values():
        assert all(set(e) >= {"type", "kwargs"} for e in doc["expectations"])


def test_incident_resolved_before_created_fails_with_row_examples():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS)
    (result,) = validate_duckdb(
        con, "marts_build", "fct_incidents", parameters(None, GateSettings(), NOW)
    )
    assert not result.success
    found = failures([result])
    assert "expect_column_pair_values_a_to_be_greater_than_b:resolved_at" in found
    assert "1 rows" in found["expect_column_pair_values_a_to_be_greater_than_b:resolved_at"]
    assert "expect_column_values_to_be_between:time_to_resolve_hours" in found
    assert result.metadata()["failed"] == len(result.failures) >= 2


def test_row_count_drop_against_previous_publication():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS.replace("-1.0", "1.0").replace("09:00:00", "11:00:00"))
    ok = validate_duckdb(con, "marts_build", "fct_incidents", parameters(3, GateSettings(), NOW))
    assert all(r.success for r in ok)
    dropped = validate_duckdb(
        con, "marts_build", "fct_incidents", parameters(10, GateSettings(), NOW)
    )
    assert "expect_table_row_count_to_be_between:None" in failures(dropped)


def test_future_dates_fail():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS.replace("-1.0", "1.0").replace("09:00:00", "11:00:00"))
    past = datetime(2026, 2, 2, tzinfo=UTC)
    found = failures(
        validate_duckdb(con, "marts_build", "fct_incidents", parameters(None, GateSettings(), past))
    )
    assert "expect_column_max_to_be_between:created_at" in found


def test_missing_week_of_tickets_and_capacity_sums():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute("""create table marts_build.fct_tickets as
        select range as ticket_id, 1 as organization_id,
               timestamptz '2026-01-05 00:00:00+00' + to_days(cast(range as integer)) as created_at,
               null::timestamptz as solved_at, 'open' as status, 'question' as type,
               false as is_trust, null::double as handle_hours
        from range(28) where range not between 7 and 13""")
    found = failures(
        validate_duckdb(con, "marts_build", "fct_tickets", parameters(None, GateSettings(), NOW))
    )
    assert "expect_column_values_to_be_between:tickets" in found
    con.execute("""create table marts_build.mart_capacity_allocation as select * from (values
        (date '2026-01-05', 'a', 'roadmap', 0.5, 0.5, 0.7, -20.0, true),
        (date '2026-01-05', 'a', 'platform', 0.5, 0.4, 0.2, 20.0, true)
        ) t(week_start, team, category, fte_weeks, share, target_share, variance_pp,
            is_complete)""")
    found = failures(
        validate_duckdb(
            con, "marts_build", "mart_capacity_allocation", parameters(None, GateSettings(), NOW)
        )
    )
    assert list(found) == ["expect_column_values_to_be_between:share_total"]


@pytest.mark.postgres
def test_postgres_sql_datasource_finds_the_same_failure(pg_dsn):
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("create schema marts_build")
        con.execute(INCIDENTS)
    results = validate_postgres(
        pg_dsn, "marts_build", "fct_incidents", parameters(None, GateSettings(), NOW)
    )
    assert "expect_column_pair_values_a_to_be_greater_than_b:resolved_at" in failures(results)
