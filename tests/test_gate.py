"""The expectation suites catch the bad data a BI user would otherwise see."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from expectations.gate import parameters, suites, validate_duckdb, validate_postgres
from expectations.report import report
from expectations.settings import GateSettings

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
    for name, doc in suites().items():
        assert doc["meta"]["keys"], name
        for e in doc["expectations"]:
            assert set(e) >= {"type", "kwargs"}, name
            # Reviewed one by one: GX would default a forgotten severity to critical.
            assert e.get("severity") in ("critical", "warning"), (name, e["type"])


def test_incident_resolved_before_created_fails_with_row_examples():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS)
    results = validate_duckdb(
        con, "marts_build", "fct_incidents", parameters(None, GateSettings(), NOW)
    )
    assert [r.suite for r in results] == ["fct_incidents", "incidents_monthly_volume"]
    result = results[0]
    assert not result.success and results[1].success
    found = failures([result])
    assert "expect_column_pair_values_a_to_be_greater_than_b:resolved_at" in found
    assert "1 rows" in found["expect_column_pair_values_a_to_be_greater_than_b:resolved_at"]
    assert "expect_column_values_to_be_between:time_to_resolve_hours" in found
    assert result.metadata()["failed"] == len(result.failures) >= 2


def test_row_count_drop_warns_within_the_band_and_blocks_beyond():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS.replace("-1.0", "1.0").replace("09:00:00", "11:00:00"))
    settings = GateSettings(warn_row_drop=0.1, max_row_drop=0.5)

    def run(previous):
        results = validate_duckdb(
            con, "marts_build", "fct_incidents", parameters(previous, settings, NOW)
        )
        return [f for r in results for f in r.failures]

    assert run(2) == []
    # 2 rows after 3: a third gone, within the band: a warning that does not block.
    (warned,) = run(3)
    assert (warned.expectation, warned.severity, warned.observed) == (
        "expect_table_row_count_to_be_between",
        "warn",
        2,
    )
    # 2 rows after 10: beyond max_row_drop, both rules fail and the error blocks.
    assert sorted(f.severity for f in run(10)) == ["error", "warn"]
    assert "settings.gate.max_row_drop" in report(
        validate_duckdb(con, "marts_build", "fct_incidents", parameters(10, settings, NOW))
    )


def test_future_dates_fail():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS.replace("-1.0", "1.0").replace("09:00:00", "11:00:00"))
    past = datetime(2026, 2, 2, tzinfo=UTC)
    found = failures(
        validate_duckdb(con, "marts_build", "fct_incidents", parameters(None, GateSettings(), past))
    )
    assert "expect_column_max_to_be_between:created_at" in found


TICKETS = """create table marts_build.fct_tickets as
    select range as ticket_id, 1 as organization_id,
           timestamptz '2026-01-05 00:00:00+00' + to_hours(cast(range * {hours} as bigint))
               as created_at,
           null::timestamptz as solved_at, 'open' as status, 'question' as type,
           false as is_trust, null::double as handle_hours
    from range({count}) where {keep}"""


def ticket_volume_failures(hours: int, count: int, keep: str, settings=None):
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(TICKETS.format(hours=hours, count=count, keep=keep))
    settings = settings or GateSettings()
    later = datetime(2026, 6, 1, tzinfo=UTC)
    results = validate_duckdb(
        con, "marts_build", "fct_tickets", parameters(None, settings, later), settings
    )
    return results, [f for r in results for f in r.failures]


def test_a_quiet_week_of_a_busy_desk_warns_and_says_what_was_expected():
    # 14 tickets a week (one every 12 hours) from 2026-01-05 for 10 weeks; the 9th week
    # (2026-03-02) lost all its tickets. The 8 weeks before averaged 14: P(0) = e^-14.
    results, found = ticket_volume_failures(12, 140, "range not between 112 and 125")
    (failure,) = found
    assert (failure.suite, failure.severity) == ("tickets_weekly_volume", "warn")
    assert not failure.blocking
    text = report(results)
    assert "0 tickets in the week of 2026-03-02" in text
    assert "the trailing 8 weeks averaged 14.0/week, P(0)=8e-07" in text
    assert "settings.gate.zero_volume_probability" in text
    # An organisation that finds this normal lowers the bar.
    _, tuned = ticket_volume_failures(
        12, 140, "range not between 112 and 125", GateSettings(zero_volume_probability=1e-7)
    )
    assert tuned == []


def test_a_sparse_desk_with_empty_weeks_passes():
    # One ticket every 4 days: weeks with none are normal for this organisation (e^-1.75).
    _, found = ticket_volume_failures(96, 20, "true")
    assert found == []


def test_capacity_shares_must_sum_to_one():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute("""create table marts_build.mart_capacity_allocation as select * from (values
        (date '2026-01-05', 'a', 'roadmap', 0.5, 0.5, 0.7, -20.0, true),
        (date '2026-01-05', 'a', 'platform', 0.5, 0.4, 0.2, 20.0, true)
        ) t(week_start, team, category, fte_weeks, share, target_share, variance_pp,
            is_complete)""")
    results = validate_duckdb(
        con, "marts_build", "mart_capacity_allocation", parameters(None, GateSettings(), NOW)
    )
    found = failures(results)
    assert list(found) == ["expect_column_values_to_be_between:share_total"]
    assert "e.g. week_start=2026-01-05, team=a" in report(results)


def test_report_names_table_expectation_count_and_keys():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(INCIDENTS)
    text = report(
        validate_duckdb(con, "marts_build", "fct_incidents", parameters(None, GateSettings(), NOW))
    )
    line = next(x for x in text.splitlines() if "(resolved_at)" in x)
    assert line == (
        "[ERROR, blocks publication] fct_incidents / fct_incidents: "
        "expect_column_pair_values_a_to_be_greater_than_b(resolved_at): 1 of 2 rows"
    )
    assert "    e.g. incident_id=P2" in text
    assert "what to do: fix these records in the source" in text


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
    assert "e.g. incident_id=P2" in report(results)


def _catalog_with(settings: dict):
    from platform_kpis.catalog import parse_catalog

    return parse_catalog({"teams": [{"name": "a", "repos": ["o/a"]}], "settings": settings})


def test_one_coverage_threshold_set_keeps_the_other_defaults():
    gate = _catalog_with({"gate": {"coverage_thresholds": {"prs_classified": 0.2}}}).gate
    assert gate.coverage_thresholds == {
        "deployments_compare_linked": 0.5,
        "changes_deployed": 0.5,
        "incidents_team_mapped": 0.5,
        "prs_classified": 0.2,
        "authors_mapped": 0.5,
    }
    # The older spelling merges the same way; other knobs keep their defaults.
    legacy = _catalog_with({"coverage_thresholds": {"authors_mapped": 0.1}}).gate
    assert legacy.coverage_thresholds["authors_mapped"] == 0.1
    assert legacy.coverage_thresholds["changes_deployed"] == 0.5
    assert (legacy.max_row_drop, legacy.warn_row_drop) == (0.5, 0.1)
    assert (legacy.zero_volume_probability, legacy.trailing_periods) == (0.001, 8)


def test_coverage_below_a_threshold_warns_and_the_user_setting_applies():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute("""create table marts_build.kpi_coverage as select * from (values
        ('prs_classified', 24, 100, 0.24), ('authors_mapped', 40, 100, 0.4)
        ) t(metric, covered, total, share)""")

    def run(settings):
        results = validate_duckdb(
            con, "marts_build", "kpi_coverage", parameters(None, settings, NOW), settings
        )
        return [
            (f.severity, [e["metric"] for e in f.examples]) for r in results for f in r.failures
        ]

    assert run(GateSettings()) == [("warn", ["prs_classified", "authors_mapped"])]
    tuned = _catalog_with({"gate": {"coverage_thresholds": {"prs_classified": 0.2}}}).gate
    assert run(tuned) == [("warn", ["authors_mapped"])]


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"gate": {"max_row_drop": 1.5}},
            r"settings.gate.max_row_drop must be a number in \[0, 1\]",
        ),
        ({"gate": {"warn_row_drop": 0.6}}, "warn_row_drop .0.6. must not exceed max_row_drop"),
        ({"gate": {"trailing_periods": 0}}, "settings.gate.trailing_periods must be a whole"),
        ({"gate": {"zero_volume_probability": 0}}, "settings.gate.zero_volume_probability"),
        ({"gate": {"max_rows_drop": 0.2}}, r"settings.gate has unknown keys \['max_rows_drop'\]"),
        (
            {"gate": {"coverage_thresholds": {"prs_clasified": 0.2}}},
            "settings.gate.coverage_thresholds names unknown metrics",
        ),
        (
            {"coverage_thresholds": {"prs_classified": 0.2}, "gate": {"coverage_thresholds": {}}},
            "set coverage thresholds once",
        ),
        ({"gate": "strict"}, "settings.gate must be a mapping"),
    ],
)
def test_bad_gate_settings_name_the_key(settings, message):
    from platform_kpis.catalog import CatalogError

    with pytest.raises(CatalogError, match=message):
        _catalog_with(settings)


def test_the_environment_overrides_max_row_drop():
    from expectations.settings import with_environment

    base = GateSettings()
    assert with_environment(base, {}).max_row_drop == 0.5
    assert with_environment(base, {"PLATFORM_KPIS_MAX_ROW_DROP": "0.3"}).max_row_drop == 0.3
    with pytest.raises(ValueError, match="PLATFORM_KPIS_MAX_ROW_DROP must be a number"):
        with_environment(base, {"PLATFORM_KPIS_MAX_ROW_DROP": "half"})
    with pytest.raises(ValueError, match="must not exceed max_row_drop"):
        with_environment(base, {"PLATFORM_KPIS_MAX_ROW_DROP": "0.05"})


@pytest.mark.postgres
def test_postgres_volume_check_finds_the_quiet_week(pg_dsn):
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as con:
        con.execute("create schema marts_build")
        con.execute("""create table marts_build.fct_tickets as
            select g as ticket_id, 1 as organization_id,
                   timestamptz '2026-01-05 00:00:00+00' + g * interval '12 hours' as created_at,
                   null::timestamptz as solved_at, 'open' as status, 'question' as type,
                   false as is_trust, null::double precision as handle_hours
            from generate_series(0, 139) as g where g not between 112 and 125""")
    later = datetime(2026, 6, 1, tzinfo=UTC)
    results = validate_postgres(
        pg_dsn, "marts_build", "fct_tickets", parameters(None, GateSettings(), later)
    )
    assert [(f.suite, f.severity) for r in results for f in r.failures] == [
        ("tickets_weekly_volume", "warn")
    ]
    assert "0 tickets in the week of 2026-03-02" in report(results)


BETS = """create table marts_build.mart_platform_bets as select * from (values
  ('deploy-safety', 'all', 'change_failure_rate', 'down', date '2026-03-18',
   date '2026-01-12', date '2026-03-02', date '2026-03-23', date '2026-05-11',
   0.16, 0.07, -0.09, -56.25, 8, 8, 0.02, 'improved', 'c', 'b', date '2026-01-05'),
  ('early-bet', 'checkout', 'deployments', 'up', date '2026-01-21',
   date '2025-11-24', date '2026-01-12', date '2026-01-26', date '2026-03-16',
   10.0, 12.0, 2.0, 20.0, 2, 8, null, 'insufficient_data', 'c', 'b', date '2026-01-05')
) t(bet_id, team, kpi, direction, shipped_on, baseline_start, baseline_end, evaluation_start,
    evaluation_end, before_value, after_value, change, change_pct, n_before, n_after,
    standard_error, verdict, constraint_text, bet_text, first_period_with_data)"""


def test_a_bet_whose_baseline_starts_before_the_data_warns_naming_it():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    con.execute(BETS)
    results = validate_duckdb(
        con, "marts_build", "mart_platform_bets", parameters(None, GateSettings(), NOW)
    )
    found = [(f.suite, f.severity, f.examples) for r in results for f in r.failures]
    assert [(suite, severity) for suite, severity, _ in found] == [
        ("bets_baseline_in_data", "warn")
    ]
    text = report(results)
    assert (
        "bet early-bet: its baseline starts 2025-11-24, before the first period with data of "
        "deployments (checkout), 2026-01-05"
    ) in text
    assert "deploy-safety" not in text


def test_a_bet_whose_windows_are_out_of_order_blocks():
    con = duckdb.connect()
    con.execute("create schema marts_build")
    # An evaluation that starts before the ship date: the ledger compares the wrong periods.
    con.execute(BETS.replace("date '2026-03-23'", "date '2026-03-09'"))
    results = validate_duckdb(
        con, "marts_build", "mart_platform_bets", parameters(None, GateSettings(), NOW)
    )
    blocking = [(f.column, [e["bet_id"] for e in f.examples]) for r in results for f in r.blocking]
    assert blocking == [("evaluation_start", ["deploy-safety"])]
