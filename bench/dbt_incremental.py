"""Wall time of an incremental ``dbt build`` against ``dbt build --full-refresh`` on the same
data, in one run: sync the simulator and build once, then per round advance the clock a day,
sync again, build incrementally and rebuild in full. Prints the whole build and the staging
models' own execution time (from run_results.json), and the raw rows each round added.

    python bench/dbt_incremental.py [--teams 3 --days 56 --activity 1 --seed 1 --rounds 2]

At the default scale (8,000 raw rows) dbt's own overhead dominates; --teams 8 --activity 4
(70,000 raw rows) shows the staging layer's saving.

Postgres: --target postgres --dsn postgresql://... (an empty database). Wall times on a busy
machine are noisy; compare the two builds of one round.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.http import RetryPolicy  # noqa: E402
from extractors.rawstore import SOURCES, open_store  # noqa: E402
from extractors.sources import sync_source  # noqa: E402
from platform_kpis.catalog import parse_catalog  # noqa: E402
from platform_kpis.config import Settings  # noqa: E402
from simulator.app import Simulator  # noqa: E402
from simulator.org import Scale  # noqa: E402
from warehouse.catalog_tables import (  # noqa: E402
    RAW_TABLES,
    dbt_env,
    ensure_raw_layer,
    write_catalog,
)

DBT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
RETRY = RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_max=0.05, timeout=(2.0, 1.5))


def sync(sim: Simulator, target: str, home: Path, dsn: str | None) -> int:
    """Sync every source; the raw rows in the layer afterwards."""
    env = {**sim.env(), "PLATFORM_KPIS_HOME": str(home), "PLATFORM_KPIS_TARGET": target}
    if dsn:
        env["PLATFORM_KPIS_PG_DSN"] = dsn
    settings, catalog = Settings.from_env(env), parse_catalog(sim.org.catalog())
    rows = 0
    for source in SOURCES:
        with open_store(source, target=target, home=home, dsn=dsn) as store:
            sync_source(source, settings, catalog, store, retry=RETRY, history_start=sim.org.start)
            rows += sum(store.count(t) for t in RAW_TABLES[source])
    write_catalog(catalog, target=target, home=home, dsn=dsn)
    ensure_raw_layer(target=target, home=home, dsn=dsn)
    return rows


def build(target: str, home: Path, dsn: str | None, *args: str) -> tuple[float, float, str]:
    """dbt build; (wall seconds, seconds the staging models executed, outcome)."""
    started = time.perf_counter()
    code = subprocess.call(
        [
            str(Path(sys.executable).parent / "dbt"),
            "build",
            *args,
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
            "--target-path",
            str(home / "target"),
            "--log-path",
            str(home / "logs"),
            "--quiet",
        ],
        env={**os.environ, **dbt_env(target=target, home=home, dsn=dsn)},
    )
    wall = time.perf_counter() - started
    results = json.loads((home / "target" / "run_results.json").read_text())["results"]
    staging = sum(
        r["execution_time"]
        for r in results
        if r["unique_id"].startswith("model.platform_kpis.stg_")
    )
    failed = [r["unique_id"] for r in results if r["status"] in ("error", "fail")]
    return wall, staging, "ok" if code == 0 else f"exit {code}, failed: {failed[:5]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Scale()
    parser.add_argument("--teams", type=int, default=defaults.teams)
    parser.add_argument("--days", type=int, default=defaults.days)
    parser.add_argument("--activity", type=float, default=defaults.activity)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--target", choices=("duckdb", "postgres"), default="duckdb")
    parser.add_argument("--dsn")
    args = parser.parse_args()
    scale = Scale(teams=args.teams, days=args.days, activity=args.activity)
    with tempfile.TemporaryDirectory() as tmp, Simulator(seed=args.seed, scale=scale) as sim:
        home = Path(tmp)
        raw = sync(sim, args.target, home, args.dsn)
        wall, staging, outcome = build(args.target, home, args.dsn)
        print(
            f"{scale}\nfirst build: {raw} raw rows, {wall:.1f}s (staging {staging:.1f}s) {outcome}"
        )
        for day in range(1, args.rounds + 1):
            sim.advance(days=1)
            added = sync(sim, args.target, home, args.dsn) - raw
            raw += added
            inc = build(args.target, home, args.dsn)
            full = build(args.target, home, args.dsn, "--full-refresh")
            print(
                f"day +{day}: {added} new raw rows of {raw}\n"
                f"  incremental  {inc[0]:6.1f}s (staging {inc[1]:5.1f}s) {inc[2]}\n"
                f"  full refresh {full[0]:6.1f}s (staging {full[1]:5.1f}s) {full[2]}"
            )


if __name__ == "__main__":
    main()
