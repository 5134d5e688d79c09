"""The catalog: the one YAML file a user edits to describe the organisation.

Its shape is ``docs/catalog.example.yml``; defaults are those of ``docs/kpis.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from expectations.settings import GateSettings, parse_gate_settings
from platform_kpis.bets import Bet, BetError, parse_bets

CATEGORIES = ("roadmap", "platform", "unplanned")
DEFAULT_BUDGET = {"roadmap": 0.70, "platform": 0.20, "unplanned": 0.10}
DEFAULT_PRIORITY = ("unplanned", "platform", "roadmap")
DEFAULT_PROD_PATTERN = "(?i)^(production|prod)$"
DEFAULT_WORKFLOW_PATTERN = "(?i)deploy"
DEFAULT_TRUST_TAGS = ("data_mismatch", "data_quality")
TRUST_THEME = "trust"
THEME_NAME = re.compile(r"[a-z_]+")


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the offending key."""


@dataclass(frozen=True)
class Member:
    github: str
    pagerduty: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Team:
    name: str
    repos: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    members: tuple[Member, ...] = ()


@dataclass(frozen=True)
class RepoSettings:
    deployment_signal: str = "deployments"
    workflow_pattern: str = DEFAULT_WORKFLOW_PATTERN


@dataclass(frozen=True)
class BillingSettings:
    currency: str
    # Units of ``currency`` per unit of each other currency (JPY: 0.0067 with currency USD).
    exchange_rates: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    teams: tuple[Team, ...]
    budget_default: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_BUDGET))
    budget_overrides: dict[str, dict[str, float]] = field(default_factory=dict)
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    labels: dict[str, str] = field(default_factory=dict)
    repositories: dict[str, RepoSettings] = field(default_factory=dict)
    production_environment_pattern: str = DEFAULT_PROD_PATTERN
    incident_window_hours: float = 24
    hourly_cost: float = 120
    handle_time_field_id: int | None = None
    trust_tags: tuple[str, ...] = DEFAULT_TRUST_TAGS
    # Theme name -> Zendesk tags; always holds TRUST_THEME with exactly the trust tags.
    ticket_themes: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {TRUST_THEME: DEFAULT_TRUST_TAGS}
    )
    billing_export: str | None = None
    # Project-added settings: the gate's knobs (settings.gate), and the currency compute cost
    # is reported in with the rates that convert other billing currencies into it.
    gate: GateSettings = field(default_factory=GateSettings)
    billing: BillingSettings | None = None
    bets: tuple[Bet, ...] = ()

    @property
    def repos(self) -> list[str]:
        return [r for t in self.teams for r in t.repos]

    @property
    def services(self) -> list[str]:
        return [s for t in self.teams for s in t.services]

    def repo_settings(self, repo: str) -> RepoSettings:
        return self.repositories.get(repo, RepoSettings())

    def is_production(self, environment: str | None) -> bool:
        return (
            bool(environment)
            and re.search(self.production_environment_pattern, environment) is not None
        )


def _req(mapping: dict, key: str, where: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise CatalogError(f"catalog: {where} needs '{key}'")
    return mapping[key]


def _shares(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise CatalogError(f"catalog: {where} must map categories to shares")
    unknown = set(raw) - set(CATEGORIES)
    if unknown:
        raise CatalogError(f"catalog: {where} has unknown categories {sorted(unknown)}")
    out = {c: float(raw.get(c, 0.0)) for c in CATEGORIES}
    if any(v < 0 or v > 1 for v in out.values()):
        raise CatalogError(f"catalog: {where} shares must lie in [0, 1]")
    return out


def parse_catalog(doc: dict) -> Catalog:
    if not isinstance(doc, dict):
        raise CatalogError("catalog: the file must hold a mapping")
    teams = []
    seen: set[str] = set()
    for i, t in enumerate(_req(doc, "teams", "the top level") or []):
        name = str(_req(t, "name", f"teams[{i}]"))
        if name in ("all", "unassigned"):
            raise CatalogError(f"catalog: team name {name!r} is reserved")
        if name in seen:
            raise CatalogError(f"catalog: team {name!r} appears twice")
        seen.add(name)
        members = []
        for j, m in enumerate(t.get("members") or []):
            login = _req(m, "github", f"teams[{i}].members[{j}]")
            members.append(Member(str(login), m.get("pagerduty"), m.get("email")))
        repos = tuple(str(r) for r in t.get("repos") or [])
        for r in repos:
            if r.count("/") != 1:
                raise CatalogError(f"catalog: team {name!r} repo {r!r} is not owner/name")
        teams.append(
            Team(name, repos, tuple(str(s) for s in t.get("services") or []), tuple(members))
        )
    budget = doc.get("budget") or {}
    classification = doc.get("classification") or {}
    labels = {str(k): str(v) for k, v in (classification.get("labels") or {}).items()}
    bad = {k: v for k, v in labels.items() if v not in CATEGORIES}
    if bad:
        raise CatalogError(f"catalog: classification.labels maps to unknown categories {bad}")
    priority = tuple(classification.get("priority") or DEFAULT_PRIORITY)
    if sorted(priority) != sorted(CATEGORIES):
        raise CatalogError(f"catalog: classification.priority must order {list(CATEGORIES)}")
    repositories = {}
    for repo, rs in (doc.get("repositories") or {}).items():
        rs = rs or {}
        signal = rs.get("deployment_signal", "deployments")
        if signal not in ("deployments", "workflow_runs"):
            raise CatalogError(
                f"catalog: repositories.{repo}.deployment_signal {signal!r} "
                "must be 'deployments' or 'workflow_runs'"
            )
        repositories[str(repo)] = RepoSettings(
            signal, rs.get("workflow_pattern") or DEFAULT_WORKFLOW_PATTERN
        )
    s = doc.get("settings") or {}
    pattern = s.get("production_environment_pattern") or DEFAULT_PROD_PATTERN
    for p in [pattern] + [r.workflow_pattern for r in repositories.values()]:
        try:
            re.compile(p)
        except re.error as exc:
            raise CatalogError(
                f"catalog: pattern {p!r} is not a regular expression: {exc}"
            ) from None
    themes = _ticket_themes(doc.get("ticket_themes"), s.get("trust_tags"))
    overrides = {
        str(k): _shares(v, f"budget.overrides.{k}")
        for k, v in (budget.get("overrides") or {}).items()
    }
    return Catalog(
        teams=tuple(teams),
        budget_default=_shares(budget.get("default") or DEFAULT_BUDGET, "budget.default"),
        budget_overrides=overrides,
        priority=priority,
        labels=labels,
        repositories=repositories,
        production_environment_pattern=pattern,
        incident_window_hours=float(s.get("incident_window_hours", 24)),
        hourly_cost=float(s.get("hourly_cost", 120)),
        handle_time_field_id=s.get("handle_time_field_id"),
        trust_tags=themes[TRUST_THEME],
        ticket_themes=themes,
        billing_export=s.get("billing_export"),
        gate=_gate(s),
        billing=_billing(s.get("billing")),
        bets=_bets(doc.get("bets"), tuple(t.name for t in teams), tuple(themes)),
    )


def _bets(raw: Any, teams: tuple[str, ...], themes: tuple[str, ...]) -> tuple[Bet, ...]:
    try:
        return parse_bets(raw, teams, themes)
    except BetError as exc:
        raise CatalogError(f"catalog: {exc}") from None


def _gate(s: dict) -> GateSettings:
    try:
        return parse_gate_settings(s.get("gate"), s.get("coverage_thresholds"))
    except ValueError as exc:
        raise CatalogError(f"catalog: {exc}") from None


def _currency(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise CatalogError(f"catalog: {key} must be an ISO 4217 code such as USD, not {value!r}")
    return value


def _tags(raw: Any, where: str) -> tuple[str, ...]:
    """A non-empty list of Zendesk tags (strings, matched exactly)."""
    if isinstance(raw, str) or not isinstance(raw, list) or not raw:
        raise CatalogError(f"catalog: {where} must be a non-empty list of Zendesk tags")
    bad = [t for t in raw if not isinstance(t, str) or not t]
    if bad:
        raise CatalogError(f"catalog: {where} has tags that are not text: {bad} (quote them)")
    return tuple(dict.fromkeys(raw))


def _ticket_themes(raw: Any, trust_raw: Any) -> dict[str, tuple[str, ...]]:
    """Theme -> tags. The trust theme always exists and is the trust tags: from
    ticket_themes.trust or settings.trust_tags (both only when they agree), else the
    default."""
    if raw is not None and not isinstance(raw, dict):
        raise CatalogError("catalog: ticket_themes must map theme names to lists of tags")
    themes: dict[str, tuple[str, ...]] = {}
    for name, tags in (raw or {}).items():
        if not isinstance(name, str) or not THEME_NAME.fullmatch(name):
            raise CatalogError(
                f"catalog: ticket_themes key {name!r} is not a theme name "
                "(lowercase letters and underscores)"
            )
        themes[name] = _tags(tags, f"ticket_themes.{name}")
    trust = None if trust_raw is None else _tags(trust_raw, "settings.trust_tags")
    if TRUST_THEME in themes and trust is not None and set(trust) != set(themes[TRUST_THEME]):
        raise CatalogError(
            "catalog: ticket_themes.trust and settings.trust_tags name different tags; "
            "set the trust tags in one of them"
        )
    if TRUST_THEME not in themes:
        themes = {TRUST_THEME: trust or DEFAULT_TRUST_TAGS, **themes}
    return themes


def _billing(raw: Any) -> BillingSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise CatalogError("catalog: settings.billing must be a mapping (currency, exchange_rates)")
    unknown = sorted(set(raw) - {"currency", "exchange_rates"})
    if unknown:
        raise CatalogError(f"catalog: settings.billing has unknown keys {unknown}")
    currency = _currency(_req(raw, "currency", "settings.billing"), "settings.billing.currency")
    rates_raw = raw.get("exchange_rates") or {}
    if not isinstance(rates_raw, dict):
        raise CatalogError("catalog: settings.billing.exchange_rates must map currencies to rates")
    rates = {}
    for code, rate in rates_raw.items():
        key = f"settings.billing.exchange_rates.{code}"
        _currency(code, key)
        number = rate if isinstance(rate, int | float) and not isinstance(rate, bool) else None
        if number is None or not 0 < number < float("inf"):
            raise CatalogError(f"catalog: {key} must be a positive number, not {rate!r}")
        rates[code] = float(number)
    return BillingSettings(currency, rates)


def load_catalog(path: Path | str) -> Catalog:
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} does not exist (PLATFORM_KPIS_CATALOG)") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog file {path} is not valid YAML: {exc}") from None
    return parse_catalog(doc)
