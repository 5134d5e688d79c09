"""Runtime settings, read only from the environment (see .env.example)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CATALOG = REPO_ROOT / "platform_kpis" / "demo_catalog.yml"


class Secret:
    """A credential that never prints: repr/str show only whether it is set."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value or None

    def reveal(self) -> str:
        if self._value is None:
            raise ValueError("secret is not set")
        return self._value

    def __bool__(self) -> bool:
        return self._value is not None

    def __repr__(self) -> str:
        return "Secret(set)" if self._value else "Secret(unset)"

    __str__ = __repr__


class SettingsError(ValueError):
    """An environment variable holds a value the pipeline cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    github_api_url: str = "https://api.github.com"
    github_token: Secret = field(default_factory=lambda: Secret(None))
    pagerduty_api_url: str = "https://api.pagerduty.com"
    pagerduty_api_token: Secret = field(default_factory=lambda: Secret(None))
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_api_token: Secret = field(default_factory=lambda: Secret(None))
    catalog_path: Path | None = None
    home: Path = REPO_ROOT / "data"
    target: str = "duckdb"
    pg_dsn: Secret = field(default_factory=lambda: Secret(None))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        target = env.get("PLATFORM_KPIS_TARGET", "duckdb").strip().lower()
        if target not in ("duckdb", "postgres"):
            raise SettingsError(
                f"PLATFORM_KPIS_TARGET must be 'duckdb' or 'postgres', not {target!r}"
            )
        if target == "postgres" and not env.get("PLATFORM_KPIS_PG_DSN"):
            raise SettingsError("PLATFORM_KPIS_TARGET=postgres needs PLATFORM_KPIS_PG_DSN")
        catalog = env.get("PLATFORM_KPIS_CATALOG")
        return cls(
            github_api_url=env.get("GITHUB_API_URL") or cls.github_api_url,
            github_token=Secret(env.get("GITHUB_TOKEN")),
            pagerduty_api_url=env.get("PAGERDUTY_API_URL") or cls.pagerduty_api_url,
            pagerduty_api_token=Secret(env.get("PAGERDUTY_API_TOKEN")),
            zendesk_url=env.get("ZENDESK_URL") or None,
            zendesk_email=env.get("ZENDESK_EMAIL") or None,
            zendesk_api_token=Secret(env.get("ZENDESK_API_TOKEN")),
            catalog_path=Path(catalog) if catalog else None,
            home=Path(env.get("PLATFORM_KPIS_HOME") or REPO_ROOT / "data"),
            target=target,
            pg_dsn=Secret(env.get("PLATFORM_KPIS_PG_DSN")),
        )
