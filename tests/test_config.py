"""Settings from the environment and the catalog file."""

from __future__ import annotations

import pytest
import yaml

from platform_kpis.catalog import CatalogError, load_catalog, parse_catalog
from platform_kpis.config import DEMO_CATALOG, REPO_ROOT, Settings
from simulator.org import DEMO_SCALE, Org

EXAMPLE_CATALOG = REPO_ROOT / "docs" / "catalog.example.yml"


def test_secrets_never_print():
    s = Settings.from_env({"GITHUB_TOKEN": "ghp_realtokenvalue", "PAGERDUTY_API_TOKEN": "pd-1"})
    assert "ghp_realtokenvalue" not in repr(s) and "pd-1" not in repr(s)
    assert s.github_token.reveal() == "ghp_realtokenvalue"


def test_defaults():
    s = Settings.from_env({})
    assert s.github_api_url == "https://api.github.com"
    assert s.target == "duckdb"


def test_postgres_target_needs_a_dsn():
    with pytest.raises(ValueError, match="PLATFORM_KPIS_PG_DSN"):
        Settings.from_env({"PLATFORM_KPIS_TARGET": "postgres"})
    with pytest.raises(ValueError, match="PLATFORM_KPIS_TARGET"):
        Settings.from_env({"PLATFORM_KPIS_TARGET": "oracle"})


def test_the_example_catalog_loads():
    cat = load_catalog(EXAMPLE_CATALOG)
    assert [t.name for t in cat.teams] == ["checkout", "platform"]
    assert cat.repo_settings("example-org/cart-service").deployment_signal == "workflow_runs"
    assert cat.budget_overrides["platform"]["platform"] == 0.6
    assert cat.is_production("Production") and not cat.is_production("staging")


def test_demo_catalog_matches_the_simulator():
    demo = Org.generate(1, DEMO_SCALE)
    assert yaml.safe_load(DEMO_CATALOG.read_text()) == demo.catalog()
    cat = load_catalog(DEMO_CATALOG)
    assert cat.repos == demo.repos


@pytest.mark.parametrize(
    "doc, message",
    [
        ({"teams": [{"repos": []}]}, "teams\\[0\\] needs 'name'"),
        ({"teams": [{"name": "all"}]}, "reserved"),
        ({"teams": [{"name": "a", "repos": ["noslash"]}]}, "not owner/name"),
        ({"teams": [], "classification": {"labels": {"bug": "chores"}}}, "unknown categories"),
        ({"teams": [], "repositories": {"a/b": {"deployment_signal": "ftp"}}}, "deployment_signal"),
        ({"teams": [], "settings": {"production_environment_pattern": "(("}}, "not a regular"),
    ],
)
def test_bad_catalogs_name_the_key(doc, message):
    with pytest.raises(CatalogError, match=message):
        parse_catalog(doc)


def test_missing_catalog_file_is_named(tmp_path):
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope.yml")


# --- ticket themes ----------------------------------------------------------------------


def test_without_ticket_themes_the_one_theme_is_trust():
    assert parse_catalog({"teams": []}).ticket_themes == {
        "trust": ("data_mismatch", "data_quality")
    }
    cat = parse_catalog({"teams": [], "settings": {"trust_tags": ["wrong_numbers"]}})
    assert cat.ticket_themes == {"trust": ("wrong_numbers",)}
    assert cat.trust_tags == ("wrong_numbers",)


def test_ticket_themes_keep_the_trust_theme():
    cat = parse_catalog(
        {
            "teams": [],
            "ticket_themes": {"billing": ["invoice", "Refund"], "sso_login": ["sso"]},
            "settings": {"trust_tags": ["data_mismatch"]},
        }
    )
    assert cat.ticket_themes == {
        "trust": ("data_mismatch",),
        "billing": ("invoice", "Refund"),  # tags are kept as written: matched exactly
        "sso_login": ("sso",),
    }
    assert cat.trust_tags == ("data_mismatch",)


def test_ticket_themes_trust_defines_the_trust_tags():
    cat = parse_catalog({"teams": [], "ticket_themes": {"trust": ["bad_data", "stale_data"]}})
    assert cat.trust_tags == ("bad_data", "stale_data")
    assert cat.ticket_themes == {"trust": ("bad_data", "stale_data")}
    # Both keys may be set when they agree.
    same = parse_catalog(
        {
            "teams": [],
            "ticket_themes": {"trust": ["stale_data", "bad_data"]},
            "settings": {"trust_tags": ["bad_data", "stale_data"]},
        }
    )
    assert set(same.trust_tags) == {"bad_data", "stale_data"}


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            {"ticket_themes": {"trust": ["bad_data"]}, "settings": {"trust_tags": ["x"]}},
            r"ticket_themes\.trust and settings\.trust_tags",
        ),
        ({"ticket_themes": {"Billing": ["invoice"]}}, "ticket_themes key 'Billing'"),
        ({"ticket_themes": {"sso-login": ["sso"]}}, "ticket_themes key 'sso-login'"),
        ({"ticket_themes": {"billing": "invoice"}}, r"ticket_themes\.billing must be a non-empty"),
        ({"ticket_themes": {"billing": []}}, r"ticket_themes\.billing must be a non-empty"),
        ({"ticket_themes": {"billing": None}}, r"ticket_themes\.billing must be a non-empty"),
        ({"ticket_themes": {"billing": ["invoice", 404]}}, r"ticket_themes\.billing has tags"),
        ({"ticket_themes": ["billing"]}, "ticket_themes must map theme names"),
        ({"settings": {"trust_tags": "data_quality"}}, r"settings\.trust_tags must be a non-empty"),
    ],
)
def test_bad_ticket_themes_name_the_key(doc, message):
    with pytest.raises(CatalogError, match=message):
        parse_catalog({"teams": [], **doc})
