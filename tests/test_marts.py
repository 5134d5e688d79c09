"""Every contract table equals the simulator's ground truth exactly (floats to 1e-9), for two
seeds, on DuckDB and on Postgres."""

from __future__ import annotations

import pytest

from simulator.org import Scale
from tests.conftest import fresh_database
from tests.marts_support import KEYS, build_marts, diff_table, read_table

# Seven weeks: room for a bet's 3-week baseline, its ship week and a 3-week evaluation.
SCALE = Scale(teams=3, repos_per_team=2, members_per_team=3, days=49, customers=20)
SEEDS = (7, 11)


@pytest.fixture(
    scope="module",
    params=[(seed, target) for target in ("duckdb", "postgres") for seed in SEEDS],
    ids=lambda p: f"seed{p[0]}-{p[1]}",
)
def built(request, tmp_path_factory):
    seed, target = request.param
    home = tmp_path_factory.mktemp(f"marts-{seed}-{target}")
    if target == "duckdb":
        yield build_marts(home, seed=seed, scale=SCALE, target=target)
        return
    with fresh_database() as dsn:  # one database per seed: raw layers must not mix
        yield build_marts(home, seed=seed, scale=SCALE, target=target, dsn=dsn)


@pytest.mark.parametrize("table", sorted(KEYS))
def test_mart_equals_truth(built, table):
    expected = built.truth[table]
    assert expected, f"the truth has no {table} rows: the scenario is too small"
    differences = diff_table(table, read_table(built, table), expected)
    assert not differences, "\n".join(differences)


def test_the_truth_covers_every_published_mart():
    """The truth keeps its own list of tables (it shares no code with the pipeline); it must
    name every published dbt mart except those it checks elsewhere: the sync status is the
    extractors' own bookkeeping (test_rawstore, test_sync_as_of) and restatements need two
    publications (test_history)."""
    from orchestration.publish_assets import MARTS
    from simulator import truth

    checked_elsewhere = {"pipeline_sync_status", "kpi_restatements"}
    assert set(truth.TABLES) == set(MARTS) - checked_elsewhere == set(KEYS)
