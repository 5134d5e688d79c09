"""The catalog's bets: parsed with their defaults, and every mistake named by its key."""

from __future__ import annotations

from datetime import date

import pytest

from platform_kpis.catalog import CatalogError, load_catalog, parse_catalog
from platform_kpis.config import DEMO_CATALOG

TEAMS = [{"name": "checkout"}, {"name": "platform"}]
THEMES = {"enterprise_blocker": ["sso"]}


def bet(**overrides):
    doc = {
        "id": "deploy-safety",
        "constraint": "One release in six fails.",
        "bet": "Canary releases.",
        "kpi": "change_failure_rate",
        "direction": "down",
        "shipped_on": "2026-03-18",
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def catalog(*bets):
    return parse_catalog({"teams": TEAMS, "ticket_themes": THEMES, "bets": list(bets)})


def test_a_weekly_bet_defaults_to_eight_weeks_each_side_org_wide():
    (b,) = catalog(bet()).bets
    assert (b.id, b.kpi, b.direction, b.team) == (
        "deploy-safety",
        "change_failure_rate",
        "down",
        None,
    )
    assert b.shipped_on == date(2026, 3, 18)
    assert (b.period, b.baseline_periods, b.evaluation_periods) == ("week", 8, 8)


def test_a_monthly_theme_bet_defaults_to_three_months_each_side():
    (b,) = catalog(
        bet(kpi="enterprise_blocker_tickets_per_1k_customers", shipped_on=date(2026, 7, 8))
    ).bets
    assert (b.period, b.baseline_periods, b.evaluation_periods) == ("month", 3, 3)
    assert b.shipped_on == date(2026, 7, 8)


def test_a_team_bet_with_its_own_windows():
    (b,) = catalog(
        bet(
            team="platform",
            kpi="platform_share",
            direction="up",
            baseline_periods=4,
            evaluation_periods=6,
        )
    ).bets
    assert (b.team, b.period, b.baseline_periods, b.evaluation_periods) == (
        "platform",
        "week",
        4,
        6,
    )


def test_no_bets_is_an_empty_ledger():
    assert parse_catalog({"teams": TEAMS}).bets == ()


def test_the_demo_catalog_declares_its_three_bets():
    bets = load_catalog(DEMO_CATALOG).bets
    assert [b.id for b in bets] == ["deploy-safety", "data-reconciliation", "access-controls"]
    assert [b.period for b in bets] == ["week", "month", "month"]


@pytest.mark.parametrize(
    ("bets", "message"),
    [
        ([bet(id="Deploy Safety")], r"bets\[0\]\.id: 'Deploy Safety' is not a slug"),
        ([bet(id=None)], r"bets\[0\]\.id: None is not a slug"),
        ([bet(), bet()], r"bets\[1\]\.id: bet 'deploy-safety' appears twice"),
        (
            [bet(constraint="  ")],
            r"bets\[0\]\.constraint \(bet 'deploy-safety'\): must be non-empty",
        ),
        ([bet(bet=None)], r"bets\[0\]\.bet \(bet 'deploy-safety'\): must be non-empty text"),
        (
            [bet(kpi="uptime")],
            r"bets\[0\]\.kpi \(bet 'deploy-safety'\): 'uptime' is not a scorecard KPI",
        ),
        ([bet(kpi="billing_tickets_per_1k_customers")], r"bets\[0\]\.kpi .*not a scorecard KPI"),
        (
            [bet(direction="lower")],
            r"bets\[0\]\.direction \(bet 'deploy-safety'\): 'lower' must be",
        ),
        (
            [bet(team="search")],
            r"bets\[0\]\.team \(bet 'deploy-safety'\): 'search' is not a catalog team",
        ),
        (
            [bet(team="checkout", kpi="tickets_per_1k_customers")],
            r"bets\[0\]\.team \(bet 'deploy-safety'\): tickets_per_1k_customers is measured "
            "for the whole organisation only",
        ),
        (
            [bet(shipped_on="2026-02-30")],
            r"bets\[0\]\.shipped_on \(bet 'deploy-safety'\): '2026-02-30' is not a date",
        ),
        ([bet(shipped_on="last spring")], r"bets\[0\]\.shipped_on .*'last spring' is not a date"),
        ([bet(shipped_on=None)], r"bets\[0\]\.shipped_on .*None is not a date"),
        (
            [bet(baseline_periods=0)],
            r"bets\[0\]\.baseline_periods \(bet 'deploy-safety'\): 0 must be a positive",
        ),
        ([bet(evaluation_periods="8")], r"bets\[0\]\.evaluation_periods .*'8' must be a positive"),
        ([bet(evaluation_periods=2.5)], r"bets\[0\]\.evaluation_periods .*2\.5 must be a positive"),
        ([bet(owner="dana")], r"bets\[0\]\.owner \(bet 'deploy-safety'\): unknown key"),
        (["deploy-safety"], r"bets\[0\] must be a mapping"),
    ],
    ids=[
        "id-not-slug",
        "id-missing",
        "id-twice",
        "constraint-blank",
        "bet-missing",
        "kpi-unknown",
        "kpi-theme-unknown",
        "direction",
        "team-unknown",
        "team-on-monthly-kpi",
        "date-invalid",
        "date-text",
        "date-missing",
        "baseline-zero",
        "evaluation-text",
        "evaluation-float",
        "unknown-key",
        "not-a-mapping",
    ],
)
def test_bad_bets_name_the_key_and_the_bet(bets, message):
    with pytest.raises(CatalogError, match=message):
        catalog(*bets)


def test_bets_must_be_a_list():
    with pytest.raises(CatalogError, match="bets must be a list"):
        parse_catalog({"teams": TEAMS, "bets": {"deploy-safety": {}}})
