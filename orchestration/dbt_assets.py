"""dbt in Dagster: the catalog tables, every dbt model as an asset and every dbt test as an
asset check.

- ``catalog/<table>``: one Python step writes the user's catalog into the warehouse (schema
  ``catalog``), where dbt reads it as a source.
- The dbt project (``dbt_project/``) runs as ``dbt build``. A dbt source whose
  ``meta.dagster.asset_key`` is set gets exactly that key: that is how the raw assets
  (``raw/<source>/<table>``) and the catalog assets become the models' upstreams. A model's key
  is ``[<schema>, <name>]`` (``staging/stg_github__deployments``, ``marts/fct_deployments``).
- The dbt target is ``PLATFORM_KPIS_TARGET`` (``duckdb`` or ``postgres``).

No ``from __future__ import annotations`` here: Dagster reads the ``context`` and resource
annotations of the decorated functions at definition time and needs the real classes.
"""

import functools
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.resources import Warehouse
from warehouse.billing import load_billing
from warehouse.catalog_tables import (
    CATALOG_TABLE_NAMES,
    dbt_env,
    ensure_raw_layer,
    write_catalog,
)

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
# A change to any of these makes the parsed manifest stale.
_DBT_SOURCES = ("dbt_project.yml", "profiles.yml", "models", "macros", "tests")


def dbt_target(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    target = (env.get("PLATFORM_KPIS_TARGET") or "duckdb").strip().lower()
    if target not in ("duckdb", "postgres"):
        raise ValueError(f"PLATFORM_KPIS_TARGET must be 'duckdb' or 'postgres', not {target!r}")
    return target


def dbt_build_args() -> list[str]:
    return ["build"]


def manifest_is_stale(project: DbtProject) -> bool:
    """No manifest, or one older than a file of the project (a checkout moved on)."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in _DBT_SOURCES:
        path = Path(project.project_dir) / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


def dbt_executable() -> str:
    """dbt from PATH, else the one installed beside this interpreter (a venv not activated)."""
    found = shutil.which("dbt")
    if found:
        return found
    beside = Path(sys.executable).parent / "dbt"
    if not beside.exists():
        raise FileNotFoundError("dbt is not installed (pip install dbt-core dbt-duckdb)")
    # dagster-dbt's project preparer runs `dbt` from PATH.
    os.environ["PATH"] = f"{beside.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return str(beside)


@functools.cache
def dbt_project() -> DbtProject:
    """The project, with a manifest parsed (under ``dagster dev`` always, else when stale)."""
    dbt_executable()
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=dbt_target()
    )
    project.prepare_if_dev()
    if manifest_is_stale(project):
        project.preparer.prepare(project)
    return project


class PlatformDbtTranslator(DagsterDbtTranslator):
    """Keys from ``meta.dagster.asset_key`` when set; sources otherwise ``[source, table]``;
    models ``[schema, name]``, grouped by schema (staging, intermediate, marts)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        configured = self.meta_asset_key(dbt_resource_props)
        if configured is not None:
            return configured
        if dbt_resource_props["resource_type"] == "source":
            return self.source_asset_key(dbt_resource_props)
        return self.model_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return self.schema_of(dbt_resource_props)

    @staticmethod
    def meta_asset_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey | None:
        meta = (
            (dbt_resource_props.get("config") or {}).get("meta")
            or dbt_resource_props.get("meta")
            or {}
        )
        path = (meta.get("dagster") or {}).get("asset_key")
        return dg.AssetKey(list(path)) if path else None

    @staticmethod
    def source_asset_key(dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])

    @staticmethod
    def schema_of(dbt_resource_props: Mapping[str, Any]) -> str | None:
        return (dbt_resource_props.get("config") or {}).get("schema")

    @classmethod
    def model_asset_key(cls, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        schema = cls.schema_of(dbt_resource_props)
        name = dbt_resource_props["name"]
        return dg.AssetKey([schema, name] if schema else [name])


def translator() -> PlatformDbtTranslator:
    return PlatformDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def prepare_warehouse(warehouse: Warehouse) -> dict[str, str]:
    """Point the dbt profile at the warehouse and make sure every raw table dbt reads exists.
    Returns the variables set (the dbt subprocess inherits this process's environment)."""
    where = {"target": warehouse.target, "home": warehouse.home, "dsn": warehouse.pg_dsn}
    ensure_raw_layer(**where)
    env = dbt_env(**where)
    os.environ.update(env)
    return env


BILLING_TABLES = ("billing_charges", "billing_export_status")


@dg.multi_asset(
    name="catalog_tables",
    specs=[
        *(
            dg.AssetSpec(
                dg.AssetKey(["catalog", name]),
                group_name="catalog",
                kinds={"python"},
                description=f"The catalog's {name.removeprefix('catalog_')}, as a "
                "table in schema catalog (defaults applied).",
            )
            for name in CATALOG_TABLE_NAMES
        ),
        *(
            dg.AssetSpec(
                dg.AssetKey(["catalog", name]),
                group_name="catalog",
                kinds={"python"},
                description="The FinOps FOCUS billing export of the catalog's "
                "settings.billing_export (none: cost to serve says so).",
            )
            for name in BILLING_TABLES
        ),
    ],
)
def catalog_tables_asset(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> Iterator[dg.MaterializeResult]:
    """The catalog and the billing export in one step: both write the warehouse, and a
    DuckDB file takes one writer at a time (parallel steps would fight for its lock)."""
    catalog = warehouse.catalog()
    where = {"target": warehouse.target, "home": warehouse.home, "dsn": warehouse.pg_dsn}
    for name, rows in write_catalog(catalog, **where).items():
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["catalog", name]),
            metadata={"rows": rows, "catalog_file": warehouse.catalog_path},
        )
    load = load_billing(catalog, **where, base_dir=Path(warehouse.catalog_path).parent)
    meta = {
        "configured": load.configured,
        "files": len(load.files),
        "charges": load.charges,
        "export_path": str(load.export_path) if load.export_path else "",
        "duplicate_charges": load.duplicate_charges,
        "duplicates": "; ".join(load.duplicates),
    }
    if load.duplicate_charges:
        context.log.warning(
            "billing export: %d charges repeat an earlier file and were counted once: %s",
            load.duplicate_charges,
            "; ".join(load.duplicates),
        )
    for name in BILLING_TABLES:
        yield dg.MaterializeResult(asset_key=dg.AssetKey(["catalog", name]), metadata=meta)


@functools.cache
def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="dbt_platform_kpis",
        dagster_dbt_translator=translator(),
    )
    def _dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
        prepare_warehouse(warehouse)
        yield from dbt.cli(dbt_build_args(), context=context).stream()

    return _dbt


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=dbt_project(),
        profiles_dir=str(DBT_PROJECT_DIR),
        target=dbt_target(),
        dbt_executable=dbt_executable(),
    )


def dbt_assets_defs() -> tuple[list[dg.AssetsDefinition], dict[str, Any]]:
    """The catalog asset and the dbt assets, and the resources they need beyond
    ``warehouse`` (which ``orchestration.resources.resources_from_env`` provides)."""
    return (
        [catalog_tables_asset, build_dbt_assets()],
        {"dbt": dbt_resource()},
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m orchestration.dbt_assets [DBT ARGS]``: write the catalog, make sure the raw
    layer exists and run dbt (default ``build``) against the environment's warehouse, outside
    Dagster."""
    import subprocess

    from platform_kpis.catalog import load_catalog
    from platform_kpis.config import DEMO_CATALOG, Settings

    settings = Settings.from_env()
    dsn = settings.pg_dsn.reveal() if settings.pg_dsn else None
    where = {"target": settings.target, "home": settings.home, "dsn": dsn}
    write_catalog(load_catalog(settings.catalog_path or DEMO_CATALOG), **where)
    ensure_raw_layer(**where)
    args = argv if argv else dbt_build_args()
    return subprocess.call(
        [
            dbt_executable(),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            settings.target,
        ],
        env={**os.environ, **dbt_env(**where)},
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
