"""The raw-layer Dagster assets against the simulator: keys, metadata, sync status."""

from __future__ import annotations

import dagster as dg

from extractors.rawstore import SOURCES, open_store
from orchestration.raw_assets import raw_assets
from orchestration.resources import Warehouse
from platform_kpis.config import Secret
from simulator.app import Simulator
from tests.conftest import SMALL
from tests.pipeline_support import source_apis


def _resources(sim: Simulator, home, catalog_path) -> dict:
    env = sim.env()
    return {
        "apis": source_apis(env),
        "warehouse": Warehouse(
            home=str(home),
            catalog_path=str(catalog_path),
            history_start=sim.org.start.date().isoformat(),
        ),
    }


def test_raw_assets_materialize_every_stream_with_figures(tmp_path):
    import yaml

    with Simulator(seed=3, scale=SMALL) as sim:
        catalog = tmp_path / "catalog.yml"
        catalog.write_text(yaml.safe_dump(sim.org.catalog()))
        assets = raw_assets()
        result = dg.materialize(assets, resources=_resources(sim, tmp_path, catalog))
        assert result.success
        keys = {k for a in assets for k in a.keys}
        assert all(k.path[0] == "raw" and k.path[1] in SOURCES for k in keys)
        assert {"pull_requests", "incidents", "tickets", "organizations"} <= {
            k.path[2] for k in keys
        }
        materialized = {}
        for event in result.get_asset_materialization_events():
            m = event.event_specific_data.materialization
            materialized[m.asset_key] = m.metadata
        assert set(materialized) == keys
        for key, meta in materialized.items():
            if key.path[2] == "pipeline_sync_status":
                assert meta["streams"].value, key  # the streams this step synced
                continue
            for figure in ("records", "requests", "retries", "throttled_seconds", "cursor"):
                assert figure in meta, (key, figure)
        assert materialized[dg.AssetKey(["raw", "github", "pull_requests"])]["records"].value > 0

        for source in SOURCES:
            with open_store(source, target="duckdb", home=tmp_path) as store:
                rows = store.status_rows()
                assert rows and all(r["status"] == "success" for r in rows)
                assert all(r["requests"] >= 1 and r["last_success_at"] for r in rows)

        # Secrets never reach run metadata.
        text = repr(materialized)
        for name in ("GITHUB_TOKEN", "PAGERDUTY_API_TOKEN", "ZENDESK_API_TOKEN"):
            assert sim.env()[name] not in text
        assert "set" in repr(Secret("x")) and "x" not in repr(Secret("x")).replace("Secret", "")
