"""The warehouse side of a dbt build: the catalog as tables, the raw layer dbt reads, and the
environment the dbt profile reads.

- :func:`write_catalog` writes the loaded catalog (defaults applied) into schema ``catalog``
  of the warehouse (``$PLATFORM_KPIS_HOME/warehouse.duckdb`` or the Postgres database), one
  transaction, so a build never sees half a catalog.
- :func:`ensure_raw_layer` guarantees every raw table dbt declares as a source exists (empty
  when a source was never extracted): dbt-duckdb attaches the three raw files read-only and a
  missing file or table would fail the whole build.
- :func:`dbt_env` gives the variables ``dbt_project/profiles.yml`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_kpis.catalog import CATEGORIES, DEFAULT_WORKFLOW_PATTERN, Catalog

CATALOG_SCHEMA = "catalog"
DEFAULT_BUDGET_TEAM = "*"

# Every raw table dbt reads, per source (the extractors' stream tables).
RAW_TABLES: dict[str, tuple[str, ...]] = {
    "github": (
        "repositories",
        "pull_requests",
        "pr_commits",
        "deployments",
        "deployment_statuses",
        "workflow_runs",
        "compares",
    ),
    "pagerduty": ("services", "teams", "users", "incidents", "log_entries"),
    "zendesk": ("tickets", "ticket_metrics", "organizations"),
}

# Column types by target; the logical names are those of CatalogTable.columns.
_TYPES = {
    "duckdb": {
        "text": "varchar",
        "double": "double",
        "bigint": "bigint",
        "integer": "integer",
        "boolean": "boolean",
        "date": "date",
    },
    "postgres": {
        "text": "text",
        "double": "double precision",
        "bigint": "bigint",
        "integer": "integer",
        "boolean": "boolean",
        "date": "date",
    },
}


@dataclass(frozen=True)
class CatalogTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, logical type)
    rows: tuple[tuple[Any, ...], ...]

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]


def catalog_tables(catalog: Catalog) -> list[CatalogTable]:
    """The catalog as rows, every default of the KPI spec applied."""
    teams = catalog.teams
    rank = {category: i + 1 for i, category in enumerate(catalog.priority)}
    budget: list[tuple[Any, ...]] = [
        (DEFAULT_BUDGET_TEAM, c, catalog.budget_default[c], False) for c in CATEGORIES
    ]
    for t in teams:
        shares = catalog.budget_overrides.get(t.name)
        budget += [
            (t.name, c, (shares or catalog.budget_default)[c], shares is not None)
            for c in CATEGORIES
        ]
    team_of_repo = {r: t.name for t in teams for r in t.repos}
    repos = list(dict.fromkeys([*team_of_repo, *catalog.repositories]))
    repositories = []
    for repo in repos:
        s = catalog.repo_settings(repo)
        repositories.append((repo, team_of_repo.get(repo), s.deployment_signal, s.workflow_pattern))
    handle_field = catalog.handle_time_field_id
    return [
        CatalogTable("catalog_teams", (("team", "text"),), tuple((t.name,) for t in teams)),
        CatalogTable(
            "catalog_team_repos",
            (("team", "text"), ("repo", "text")),
            tuple((t.name, r) for t in teams for r in t.repos),
        ),
        CatalogTable(
            "catalog_team_services",
            (("team", "text"), ("service_id", "text")),
            tuple((t.name, s) for t in teams for s in t.services),
        ),
        CatalogTable(
            "catalog_members",
            (
                ("team", "text"),
                ("github_login", "text"),
                ("pagerduty_user_id", "text"),
                ("email", "text"),
            ),
            tuple((t.name, m.github, m.pagerduty, m.email) for t in teams for m in t.members),
        ),
        CatalogTable(
            "catalog_budget",
            (
                ("team", "text"),
                ("category", "text"),
                ("target_share", "double"),
                ("is_override", "boolean"),
            ),
            tuple(budget),
        ),
        CatalogTable(
            "catalog_labels",
            (("label", "text"), ("category", "text"), ("priority_rank", "integer")),
            tuple((label, c, rank[c]) for label, c in catalog.labels.items()),
        ),
        CatalogTable(
            "catalog_repositories",
            (
                ("repo", "text"),
                ("team", "text"),
                ("deployment_signal", "text"),
                ("workflow_pattern", "text"),
            ),
            tuple(repositories),
        ),
        CatalogTable(
            "catalog_settings",
            (
                ("production_environment_pattern", "text"),
                ("default_workflow_pattern", "text"),
                ("incident_window_hours", "double"),
                ("hourly_cost", "double"),
                ("handle_time_field_id", "bigint"),
                ("billing_export", "text"),
            ),
            (
                (
                    catalog.production_environment_pattern,
                    DEFAULT_WORKFLOW_PATTERN,
                    float(catalog.incident_window_hours),
                    float(catalog.hourly_cost),
                    int(handle_field) if handle_field is not None else None,
                    catalog.billing_export,
                ),
            ),
        ),
        CatalogTable(
            "catalog_trust_tags",
            (("tag", "text"),),
            tuple((tag,) for tag in dict.fromkeys(catalog.trust_tags)),
        ),
        CatalogTable(
            "catalog_ticket_themes",
            (("theme", "text"), ("tag", "text")),
            tuple((theme, tag) for theme, tags in catalog.ticket_themes.items() for tag in tags),
        ),
        CatalogTable(
            "catalog_bets",
            (
                ("bet_id", "text"),
                ("team", "text"),
                ("kpi", "text"),
                ("period", "text"),
                ("direction", "text"),
                ("shipped_on", "date"),
                ("baseline_periods", "integer"),
                ("evaluation_periods", "integer"),
                ("constraint_text", "text"),
                ("bet_text", "text"),
            ),
            tuple(
                (
                    b.id,
                    b.team,
                    b.kpi,
                    b.period,
                    b.direction,
                    b.shipped_on,
                    b.baseline_periods,
                    b.evaluation_periods,
                    b.constraint,
                    b.bet,
                )
                for b in catalog.bets
            ),
        ),
    ]


CATALOG_TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in catalog_tables(Catalog(teams=())))


def warehouse_path(home: Path | str) -> Path:
    return Path(home) / "warehouse.duckdb"


def _ddl(table: CatalogTable, target: str) -> str:
    cols = ", ".join(f"{c} {_TYPES[target][t]}" for c, t in table.columns)
    return f"create table {CATALOG_SCHEMA}.{table.name} ({cols})"


def write_catalog(
    catalog: Catalog, *, target: str, home: Path | str | None = None, dsn: str | None = None
) -> dict[str, int]:
    """Replace the catalog tables in one transaction; returns the row count of each."""
    tables = catalog_tables(catalog)
    if target == "duckdb":
        _write_duckdb(tables, warehouse_path(_need(home, "home")))
    elif target == "postgres":
        _write_postgres(tables, _need(dsn, "PLATFORM_KPIS_PG_DSN"))
    else:
        raise ValueError(f"unknown target {target!r}")
    return {t.name: len(t.rows) for t in tables}


def _need(value: Any, what: str) -> Any:
    if not value:
        raise ValueError(f"the warehouse needs {what}")
    return value


def _write_duckdb(tables: Sequence[CatalogTable], path: Path) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {CATALOG_SCHEMA}")
        for t in tables:
            con.execute(_ddl(t, "duckdb").replace("create table", "create or replace table", 1))
            if t.rows:
                marks = ", ".join("?" * len(t.columns))
                con.executemany(
                    f"insert into {CATALOG_SCHEMA}.{t.name} values ({marks})",
                    [list(r) for r in t.rows],
                )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()


def _write_postgres(tables: Sequence[CatalogTable], dsn: str) -> None:
    """Keeps existing tables (dbt views may depend on them) unless their columns changed."""
    import psycopg

    with psycopg.connect(dsn) as con, con.cursor() as cur:
        cur.execute(f"create schema if not exists {CATALOG_SCHEMA}")
        for t in tables:
            cur.execute(
                """select column_name from information_schema.columns
                where table_schema = %s and table_name = %s order by ordinal_position""",
                [CATALOG_SCHEMA, t.name],
            )
            existing = [r[0] for r in cur.fetchall()]
            if existing != t.column_names:
                if existing:
                    cur.execute(f"drop table {CATALOG_SCHEMA}.{t.name} cascade")
                cur.execute(_ddl(t, "postgres"))
            else:
                cur.execute(f"delete from {CATALOG_SCHEMA}.{t.name}")
            if t.rows:
                marks = ", ".join(["%s"] * len(t.columns))
                cur.executemany(f"insert into {CATALOG_SCHEMA}.{t.name} values ({marks})", t.rows)
        # psycopg's connection context commits on success and rolls back on error.


def ensure_raw_layer(
    *, target: str, home: Path | str | None = None, dsn: str | None = None
) -> None:
    """Create every raw file, schema and table dbt reads that does not exist yet (empty)."""
    from extractors import rawstore

    for source, tables in RAW_TABLES.items():
        if target == "duckdb":
            path = rawstore.duckdb_path(Path(_need(home, "home")), source)
            store: rawstore.SourceStore = rawstore.DuckDBSourceStore(path, source)
        elif target == "postgres":
            store = rawstore.PostgresSourceStore(_need(dsn, "PLATFORM_KPIS_PG_DSN"), source)
        else:
            raise ValueError(f"unknown target {target!r}")
        with store:
            for table in tables:
                store._ensure(table)  # the raw store's own DDL, so both agree on the shape


def dbt_env(
    *, target: str, home: Path | str | None = None, dsn: str | None = None
) -> dict[str, str]:
    """The environment ``dbt_project/profiles.yml`` reads. The password goes in a
    ``DBT_ENV_SECRET_`` variable, which dbt scrubs from its logs."""
    env = {"PLATFORM_KPIS_TARGET": target}
    if home is not None:
        env["PLATFORM_KPIS_HOME"] = str(Path(home).resolve())
    if target == "postgres":
        env.update(pg_env(_need(dsn, "PLATFORM_KPIS_PG_DSN")))
    return env


def pg_env(dsn: str) -> dict[str, str]:
    """Split a libpq DSN (URL or key=value) into the profile's variables."""
    from psycopg.conninfo import conninfo_to_dict

    parts: Mapping[str, Any] = conninfo_to_dict(dsn)
    env = {
        "PLATFORM_KPIS_PG_HOST": str(parts.get("host") or "127.0.0.1"),
        "PLATFORM_KPIS_PG_PORT": str(parts.get("port") or "5432"),
        "PLATFORM_KPIS_PG_USER": str(parts.get("user") or "postgres"),
        "PLATFORM_KPIS_PG_DBNAME": str(parts.get("dbname") or parts.get("user") or "postgres"),
        "DBT_ENV_SECRET_PLATFORM_KPIS_PG_PASSWORD": str(parts.get("password") or ""),
    }
    if parts.get("sslmode"):
        env["PLATFORM_KPIS_PG_SSLMODE"] = str(parts["sslmode"])
    return env
