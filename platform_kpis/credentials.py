"""Which environment variables a run against the real APIs needs, decided from the catalog.

GitHub is read only for the catalog's repositories, so a catalog without repositories needs
no GitHub token. PagerDuty incidents and Zendesk tickets are read for the whole account (the
catalog maps services to teams but does not limit what is read), so both are always needed.
"""

from __future__ import annotations

from collections.abc import Mapping

from platform_kpis.catalog import Catalog

CATALOG_VARIABLE = "PLATFORM_KPIS_CATALOG"
# Per source, every variable it needs; the order is the order of the error message.
SOURCE_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "github": ("GITHUB_TOKEN",),
    "pagerduty": ("PAGERDUTY_API_TOKEN",),
    "zendesk": ("ZENDESK_URL", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"),
}


def sources_used(catalog: Catalog) -> list[str]:
    return [s for s in SOURCE_CREDENTIALS if s != "github" or catalog.repos]


def missing_credentials(env: Mapping[str, str], catalog: Catalog) -> list[str]:
    """The variables the catalog's sources need that are unset or empty."""
    return [
        name
        for source in sources_used(catalog)
        for name in SOURCE_CREDENTIALS[source]
        if not env.get(name, "").strip()
    ]
