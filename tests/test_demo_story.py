"""The demo organisation (``DEMO_SCALE``, seed 1) as an engineering leader would read it: the
magnitudes of a real mid-size SaaS company, and the story of its platform bets, read from the
simulator's ground truth (not from dbt).

A bet is judged as the spec's decision layer judges it: the mean of the periods' values in
the baseline (the periods ending just before the one holding the ship date) against the
evaluation (the periods starting just after it), and the difference against twice its
standard error, sqrt(s_b^2/n_b + s_a^2/n_a)."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta

import pytest
import yaml

from platform_kpis.catalog import parse_catalog
from platform_kpis.config import DEMO_CATALOG
from simulator import truth
from simulator.billing import billing_rows
from simulator.github import GitHubModel
from simulator.org import DEMO_SCALE, Org
from simulator.pagerduty import PagerDutyModel
from simulator.story import ENTERPRISE_BLOCKER_TAGS, TICKET_THEMES
from simulator.zendesk import ZendeskModel

WEEK = timedelta(days=7)


@pytest.fixture(scope="module")
def demo():
    org = Org.generate(1, DEMO_SCALE)
    models = (GitHubModel(org), PagerDutyModel(org), ZendeskModel(org))
    catalog = parse_catalog(org.catalog())
    records = truth.records_from_models(*models, org.now0, catalog)
    # As of the end of the history, as a sync at that moment records it.
    tables = truth.kpi_truth_from_records(catalog, records, billing_rows(org), as_of=org.now0)
    return org, records, tables


def whole_months(org: Org) -> list[date]:
    """The months the history covers from their first day to their last."""
    first = org.start.date()
    m = first if first.day == 1 else truth.next_month(first.replace(day=1))
    months = []
    while truth.month_end(m) <= org.now0:
        months.append(m)
        m = truth.next_month(m)
    return months


def verdict_figures(before: list[float], after: list[float]) -> tuple[float, float]:
    """(after mean - before mean, the standard error of that difference)."""
    change = statistics.mean(after) - statistics.mean(before)
    se = math.sqrt(
        statistics.variance(before) / len(before) + statistics.variance(after) / len(after)
    )
    return change, se


def weeks_around(shipped: date, n: int = 8) -> tuple[list[date], list[date]]:
    """The n weeks before and the n after the week holding ``shipped`` (which is skipped)."""
    ship = shipped - timedelta(days=shipped.weekday())
    return [ship - k * WEEK for k in range(n, 0, -1)], [ship + k * WEEK for k in range(1, n + 1)]


def months_around(shipped: date, n: int = 3) -> tuple[list[date], list[date]]:
    """The n months before and the n after the month holding ``shipped`` (skipped)."""

    def month(k: int) -> date:
        index = shipped.year * 12 + shipped.month - 1 + k
        return date(index // 12, index % 12 + 1, 1)

    return [month(-k) for k in range(n, 0, -1)], [month(k) for k in range(1, n + 1)]


def _day(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def tickets_per_1k(records: dict, tags: tuple[str, ...], start: date, end: date) -> float:
    """Tickets carrying any of ``tags`` created in [start, end), per 1K customers created
    before ``end`` (deleted tickets count nowhere)."""
    tickets = sum(
        1
        for t in records["tickets"]
        if t["status"] != "deleted"
        and _day(start) <= t["created_at"] < _day(end)
        and set(t["tags"]) & set(tags)
    )
    customers = sum(1 for o in records["organizations"] if o["created_at"] < _day(end))
    return truth.tickets_per_1k(tickets, customers)


def bet(org: Org, bet_id: str) -> dict:
    return next(b for b in org.catalog()["bets"] if b["id"] == bet_id)


def test_the_demo_looks_like_a_mid_size_saas_company(demo):
    org, _, tables = demo
    scorecard: dict[date, dict[str, float | None]] = {}
    for row in tables["kpi_scorecard"]:
        scorecard.setdefault(row["month_start"], {})[row["kpi"]] = row["value"]
    months = whole_months(org)
    assert len(months) >= 6
    for kpis in (scorecard[m] for m in months):
        assert 30 <= kpis["tickets_per_1k_customers"] <= 200
        assert 0.02 <= kpis["change_failure_rate"] <= 0.25
        assert kpis["rollback_rate"] <= 0.12
        assert 0.3 <= kpis["roadmap_share"] <= 0.75
        assert 0.1 <= kpis["platform_share"] <= 0.35
        assert 0.1 <= kpis["unplanned_share"] <= 0.25
        assert 0.5 <= kpis["mttr_hours"] <= 24
        assert 20 <= kpis["cost_per_customer"] <= 250
        assert 150 <= kpis["deployments"] <= 600
        assert 10 <= kpis["incidents"] <= 80
    customers = [r["active_customers"] for r in tables["kpi_support_monthly"]]
    assert 1000 <= min(customers) and max(customers) <= 2000


def test_deploy_safety_cut_the_change_failure_rate_beyond_the_noise(demo):
    org, _, tables = demo
    shipped = bet(org, "deploy-safety")["shipped_on"]
    weekly = {
        r["week_start"]: r["change_failure_rate"]
        for r in tables["kpi_delivery_weekly"]
        if r["team"] == truth.ALL
    }
    before, after = weeks_around(shipped)
    assert truth.week_start(_day(shipped)) == before[-1] + WEEK == after[0] - WEEK
    change, se = verdict_figures([weekly[w] for w in before], [weekly[w] for w in after])
    assert change < -2 * se
    assert statistics.mean(weekly[w] for w in after) < 0.5 * statistics.mean(
        weekly[w] for w in before
    )


def test_the_reconciliation_job_did_not_move_trust_tickets_beyond_the_noise(demo):
    org, records, tables = demo
    shipped = bet(org, "data-reconciliation")["shipped_on"]
    tags = TICKET_THEMES["trust"]
    before, after = weeks_around(shipped)
    assert after[-1] + WEEK <= org.now0.date()
    change, se = verdict_figures(
        [tickets_per_1k(records, tags, w, w + WEEK) for w in before],
        [tickets_per_1k(records, tags, w, w + WEEK) for w in after],
    )
    assert abs(change) <= 2 * se
    # The same over the spec's monthly windows (3 months each side), which the bets mart uses,
    # from the support mart's truth.
    monthly = {
        r["month_start"]: r["trust_tickets_per_1k_customers"] for r in tables["kpi_support_monthly"]
    }
    before, after = months_around(shipped)
    assert truth.month_end(after[-1]) <= org.now0
    change, se = verdict_figures([monthly[m] for m in before], [monthly[m] for m in after])
    assert abs(change) <= 2 * se


def test_enterprise_blockers_are_tagged_at_a_plausible_rate_and_their_bet_is_in_progress(demo):
    org, records, _ = demo
    rates = [
        tickets_per_1k(records, ENTERPRISE_BLOCKER_TAGS, m, truth.next_month(m))
        for m in whole_months(org)
    ]
    assert all(2 <= r <= 30 for r in rates), rates
    tagged = [t for t in records["tickets"] if set(t["tags"]) & set(ENTERPRISE_BLOCKER_TAGS)]
    assert {tag for t in tagged for tag in t["tags"]} >= set(ENTERPRISE_BLOCKER_TAGS)
    # Shipped recently: its third evaluation month ends after the data does.
    _, after = months_around(bet(org, "access-controls")["shipped_on"])
    assert truth.month_end(after[-1]) > org.now0


def test_the_demo_catalog_names_the_themes_and_the_bets():
    doc = yaml.safe_load(DEMO_CATALOG.read_text())
    org = Org.generate(1, DEMO_SCALE)
    assert doc["ticket_themes"] == {k: list(v) for k, v in TICKET_THEMES.items()}
    kpis = set(truth.SCORECARD_KPIS) | {f"{t}_tickets_per_1k_customers" for t in TICKET_THEMES}
    for b in doc["bets"]:
        assert b["kpi"] in kpis and b["direction"] in ("up", "down")
        assert b["constraint"] and b["bet"]
        assert org.start.date() < b["shipped_on"] < org.now0.date()


def test_the_bets_ledger_tells_the_demo_story(demo):
    """The ledger's truth: one bet that worked, one within the noise, one still running."""
    _, _, tables = demo
    ledger = {r["bet_id"]: r for r in tables["mart_platform_bets"]}
    assert {b: r["verdict"] for b, r in ledger.items()} == {
        "deploy-safety": "improved",
        "data-reconciliation": "inconclusive",
        "access-controls": "in_progress",
    }
    safety = ledger["deploy-safety"]
    assert (safety["n_before"], safety["n_after"]) == (8, 8)
    assert safety["change"] < -2 * safety["standard_error"]
