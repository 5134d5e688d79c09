"""Resources: API credentials (only ever from the environment) and the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from extractors.rawstore import SourceStore, open_store
from platform_kpis.catalog import Catalog, load_catalog
from platform_kpis.config import DEMO_CATALOG, Secret, Settings, SettingsError


class SourceApis(dg.ConfigurableResource):
    """Where the three APIs live and the credentials to read them.

    Secrets arrive as ``EnvVar``s: Dagster resolves them in the step that needs them and
    never shows their values in the UI or run metadata."""

    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    pagerduty_api_url: str = "https://api.pagerduty.com"
    pagerduty_api_token: str | None = None
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: str | None = None

    def settings(self, warehouse: Warehouse) -> Settings:
        return Settings(
            github_api_url=self.github_api_url,
            github_token=Secret(self.github_token),
            pagerduty_api_url=self.pagerduty_api_url,
            pagerduty_api_token=Secret(self.pagerduty_api_token),
            zendesk_url=self.zendesk_url,
            zendesk_email=self.zendesk_email,
            zendesk_api_token=Secret(self.zendesk_api_token),
            catalog_path=Path(warehouse.catalog_path),
            home=Path(warehouse.home),
            target=warehouse.target,
            pg_dsn=Secret(warehouse.pg_dsn),
        )


class Warehouse(dg.ConfigurableResource):
    """The raw layer's and the marts' home: DuckDB files under ``home``, or Postgres."""

    target: str = "duckdb"
    home: str
    pg_dsn: str | None = None
    catalog_path: str = str(DEMO_CATALOG)
    history_start: str | None = None

    def open_raw(self, source: str) -> SourceStore:
        return open_store(source, target=self.target, home=Path(self.home), dsn=self.pg_dsn)

    def catalog(self) -> Catalog:
        return load_catalog(self.catalog_path)

    def history_start_at(self) -> datetime | None:
        if not self.history_start:
            return None
        try:
            return datetime.fromisoformat(self.history_start).replace(tzinfo=UTC)
        except ValueError:
            raise SettingsError(
                f"PLATFORM_KPIS_HISTORY_START must be an ISO date such as 2025-01-01, "
                f"not {self.history_start!r}"
            ) from None


def _env_or_none(name: str) -> dg.EnvVar | None:
    """An EnvVar for a set variable; None for an unset optional one (a source not used)."""
    import os

    return dg.EnvVar(name) if os.environ.get(name) else None


def resources_from_env() -> dict[str, dg.ConfigurableResource]:
    import os

    settings = Settings.from_env()
    apis = SourceApis(
        github_api_url=settings.github_api_url,
        github_token=_env_or_none("GITHUB_TOKEN"),
        pagerduty_api_url=settings.pagerduty_api_url,
        pagerduty_api_token=_env_or_none("PAGERDUTY_API_TOKEN"),
        zendesk_url=settings.zendesk_url,
        zendesk_email=settings.zendesk_email,
        zendesk_api_token=_env_or_none("ZENDESK_API_TOKEN"),
    )
    warehouse = Warehouse(
        target=settings.target,
        home=str(settings.home),
        pg_dsn=_env_or_none("PLATFORM_KPIS_PG_DSN"),
        catalog_path=str(settings.catalog_path or DEMO_CATALOG),
        history_start=os.environ.get("PLATFORM_KPIS_HISTORY_START") or None,
    )
    return {"apis": apis, "warehouse": warehouse}
