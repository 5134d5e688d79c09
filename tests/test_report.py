"""The executive report: built from published marts only, honest about what they lack, and
showing exactly the published figures."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest

from reporting import formatting as fmt
from reporting.marts import NoPublication
from reporting.render import build_report
from tests.report_support import Synthetic, assert_figures_match, read_report

SECTIONS = ("Scorecard", "Trends", "Capacity allocation", "Platform bets", "Data health")


def build(tmp_path, synthetic: Synthetic):
    home = tmp_path / "home"
    path = synthetic.write_duckdb(home / "published" / "platform_kpis.duckdb")
    built = build_report("duckdb", home)
    html = built.path.read_text()
    figures, text = read_report(html)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert_figures_match(con, figures)
    finally:
        con.close()
    return built, html, figures, text


def assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", html), "a remote resource"
    assert not re.search(r"url\((?!['\"]?(?:data:|#))", html), "a stylesheet url()"
    assert "@import" not in html and "@font-face" not in html


def test_formatting_rules_by_kpi_name():
    assert fmt.value("lead_time_p50_hours", 12.345) == "12.3 h"
    assert fmt.value("change_failure_rate", 0.1234) == "12.3%"
    assert fmt.value("trust_tickets_per_1k_customers", 41.66) == "41.7"
    assert fmt.value("cost_per_customer", 1234.5) == "1,234.50"
    assert fmt.value("deployments", 17.0) == "17"
    assert fmt.value("deployments", 17.25) == "17.2"  # a mean over periods
    assert fmt.change("change_failure_rate", -0.05) == "-5.0 pts"
    assert fmt.change("lead_time_p50_hours", -0.01) == "0.0 h"  # never "-0.0"
    assert fmt.pct(-33.333) == "-33.3%"
    assert fmt.value("mttr_hours", None) == fmt.NONE


def test_full_v2_publication(tmp_path):
    synthetic = Synthetic()
    built, html, figures, text = build(tmp_path, synthetic)
    assert built.path == tmp_path / "home" / "reports" / "platform_kpis_report.html"
    assert_self_contained(html)
    for section in SECTIONS:
        assert section in text
    assert "Scorecard, January 2026" in text  # February is still running on Feb 9
    assert "Tickets per 1K customers: enterprise blocker" in text
    # Coverage beside the figures it qualifies.
    row = re.search(r"Change failure rate .*?incidents mapped to a team \(7/8\)", text)
    assert row and "87.5%" in row.group(0)
    # The bets, as constraint -> bet -> outcome with a verdict in words.
    assert "Releases wait on a 40-minute CI queue" in text
    assert "Parallel CI runners on spot instances" in text
    assert "before 30.0 h" in text and "after 20.0 h" in text and "change -10.0 h (-33.3%)" in text
    assert "Improved: the KPI moved the better way" in text
    assert "In progress: the evaluation window is not over yet" in text
    assert "change -5.0 pts (-20.0%)" in text
    # Data health: the failed stream, its error, the gate's warning.
    assert "HTTP 503 from /api/v2/incremental/tickets/cursor.json" in text
    assert "kpi_coverage: prs_classified at 0.60" in text
    assert "Publication pub-2 of 2" in text
    assert "not in this publication" not in text
    tables = {f.table for f in figures}
    assert {
        "kpi_scorecard",
        "kpi_delivery_weekly",
        "kpi_incidents_weekly",
        "kpi_support_monthly",
        "kpi_support_themes_monthly",
        "kpi_cost_to_serve_monthly",
        "mart_capacity_allocation",
        "mart_platform_bets",
        "pipeline_sync_status",
        "kpi_coverage",
        "kpi_restatements",
    } <= tables
    assert html.count("<svg") == 8  # seven trend charts and the capacity chart
    assert "None" not in text and "nan" not in text.lower().split()


def test_one_team_and_one_week(tmp_path):
    synthetic = Synthetic(teams=["payments"], weeks=1, first_week=dt.date(2026, 1, 26))
    _, html, figures, text = build(tmp_path, synthetic)
    for section in SECTIONS:
        assert section in text
    assert "Scorecard, January 2026" in text
    assert "Capacity allocation, week of 2026-01-26" in text
    teams = {f.where.get("team") for f in figures if f.table == "mart_capacity_allocation"}
    assert teams == {"all", "payments"}
    # One month: nothing to compare with, and the page says so with a dash, not a 0.
    previous = [f for f in figures if f.table == "kpi_scorecard" and f.column == "previous_value"]
    assert previous and all(f.text == fmt.NONE for f in previous)
    assert "None" not in text and "nan" not in text.lower().split()


def test_no_billing_export(tmp_path):
    _, html, figures, text = build(tmp_path, Synthetic(billing=False))
    assert "No billing export: compute cost and cost to serve per customer are unknown" in text
    cost = next(
        f for f in figures if f.table == "kpi_scorecard" and f.where["kpi"] == "cost_per_customer"
    )
    assert cost.text == "no billing export"
    shown = {f.column for f in figures if f.table == "kpi_cost_to_serve_monthly"}
    assert "cost_per_customer" not in shown and "ops_cost_per_customer" in shown
    assert "only the operations cost per customer is shown" in text


def test_no_bets_in_the_catalog(tmp_path):
    _, _, figures, text = build(tmp_path, Synthetic(bets=[]))
    assert "No bets in the catalog" in text
    assert not [f for f in figures if f.table == "mart_platform_bets"]


def test_a_v1_publication_says_what_it_lacks(tmp_path):
    _, html, figures, text = build(tmp_path, Synthetic(v2=False))
    assert "The bets ledger is not in this publication." in text
    assert (
        "Support tickets per theme: kpi_support_themes_monthly is not in this publication" in text
    )
    assert "Completeness is not in this publication: the latest month is taken as partial" in text
    # Without is_complete, the latest month (February) is taken as running.
    assert "Scorecard, January 2026" in text
    assert "The gate's warnings are not in this publication" in text
    assert not [f for f in figures if f.table == "kpi_support_themes_monthly"]


def test_no_publication_is_a_clear_error(tmp_path):
    with pytest.raises(NoPublication, match="no published marts at .*platform_kpis.duckdb"):
        build_report("duckdb", tmp_path)


@pytest.mark.postgres
def test_reads_the_postgres_publication(tmp_path, pg_dsn):
    synthetic = Synthetic()
    synthetic.write_postgres(pg_dsn)
    built = build_report("postgres", tmp_path, pg_dsn)
    figures, text = read_report(built.path.read_text())
    reference = synthetic.write_duckdb(tmp_path / "reference.duckdb")
    con = duckdb.connect(str(reference), read_only=True)
    try:
        assert_figures_match(con, figures)
    finally:
        con.close()
    assert "Scorecard, January 2026" in text and "postgres schema marts" in text


def test_an_unfinished_bet_names_the_day_its_window_ends():
    from reporting.bets import _period_end

    # The mart gives the first day of the evaluation's last period; the verdict comes the day
    # after that period: a week later for a weekly KPI, the next month for a monthly one.
    assert _period_end("change_failure_rate", dt.date(2026, 10, 5)) == dt.date(2026, 10, 12)
    assert _period_end("trust_tickets_per_1k_customers", dt.date(2026, 10, 1)) == dt.date(
        2026, 11, 1
    )
    assert _period_end("cost_per_customer", dt.date(2026, 12, 1)) == dt.date(2027, 1, 1)


def test_each_platform_pain_is_backed_by_scorecard_figures():
    from reporting import pains
    from reporting.scorecard import Row, Scorecard

    rows = [
        Row(k, k, "1", "1", "+0.0%", "1")
        for k in ("lead_time_p50_hours", "change_failure_rate", "trust_tickets_per_1k_customers")
    ]
    found = {
        t.pain: t for t in pains.build(Scorecard("May 2026", dt.date(2026, 5, 1), rows, [], []))
    }
    assert [r.kpi for r in found["Fragile releases"].rows] == [
        "lead_time_p50_hours",
        "change_failure_rate",
    ]
    assert found["Fragile releases"].missing == ["lead_time_p95_hours"]
    # Without an enterprise-blocker theme in the catalog, the report says how to get one.
    (missing,) = found["Inconsistent permissions and audit"].missing
    assert "ticket_themes" in pains.missing_note(missing)
