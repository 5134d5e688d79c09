"""Requests made ÷ the minimum needed, for a full and an incremental sync of each source.

The minimum is what a perfect client would need at the maximum page size: per list and
partition (a GitHub repository) ceil(records / max page), at least one request to learn that
nothing changed; one request per detail read (a merged PR's commits, a deployment's statuses,
a compare). It is computed from the simulator's served records (its truth), not from the
extractor. A ratio, so it means the same on a busy machine.

    python bench/extract_requests.py [--teams 4 --days 90 --activity 1.5 --seed 1]
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractors.http import RetryPolicy  # noqa: E402
from extractors.rawstore import SOURCES, DuckDBSourceStore, duckdb_path  # noqa: E402
from extractors.sources import sync_source  # noqa: E402
from platform_kpis.catalog import parse_catalog  # noqa: E402
from platform_kpis.config import Settings  # noqa: E402
from simulator.app import Simulator  # noqa: E402
from simulator.org import Scale  # noqa: E402

PAGE = {"github": 100, "pagerduty": 100, "zendesk": 1000}
REPO = re.compile(r"/repos/([^/]+/[^/]+)/")


def _pages(n: int, size: int) -> int:
    return max(1, math.ceil(n / size))


def _by_repo(records: list[dict]) -> Counter:
    return Counter(REPO.search(r["url"]).group(1) for r in records)


def minimum(
    source: str,
    served: dict[str, list[dict]],
    repos: list[str],
    workflow_repos: list[str],
    full: bool,
) -> dict[str, int]:
    """Minimum requests per stream for reading ``served`` (all records, or only the changed
    ones of an incremental run)."""
    size = PAGE[source]
    if source == "pagerduty":
        return {
            t: _pages(len(served.get(t, [])), size)
            for t in ("services", "teams", "users", "incidents", "log_entries")
        }
    if source == "zendesk":
        return {
            "tickets": _pages(len(served.get("tickets", [])), size),
            "organizations": _pages(len(served.get("organizations", [])), size),
        }
    prs, deps = _by_repo(served.get("pull_requests", [])), _by_repo(served.get("deployments", []))
    runs = _by_repo(served.get("workflow_runs", []))
    deploy_repos = [r for r in repos if r not in workflow_repos]
    return {
        "repositories": len(repos) if full else 0,
        "pull_requests": sum(_pages(prs[r], size) for r in repos),
        "pr_commits": sum(1 for p in served.get("pull_requests", []) if p.get("merged_at")),
        "deployments": sum(_pages(deps[r], size) for r in deploy_repos),
        "deployment_statuses": len(served.get("deployments", [])),
        "workflow_runs": sum(_pages(runs[r], size) for r in workflow_repos),
        "compares": sum(
            1 if c.get("total_commits", 0) <= 250 else math.ceil(c["total_commits"] / 100)
            for c in served.get("compares", [])
        ),
    }


def changed(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, list]:
    """Records of ``after`` that are new or differ from ``before`` (by url/id)."""
    out = {}
    for table, records in after.items():
        old = {_ident(r): r for r in before.get(table, [])}
        out[table] = [r for r in records if old.get(_ident(r)) != r]
    return out


def _ident(record: dict) -> str:
    # A compare GitHub could not answer is stored as its 404 body, which has neither.
    return str(record.get("url") or record.get("id") or sorted(record.items()))


def run(args: argparse.Namespace) -> list[tuple]:
    scale = Scale(
        teams=args.teams, days=args.days, activity=args.activity, customers=args.customers
    )
    rows = []
    retry = RetryPolicy(backoff_base=0.01, backoff_max=0.1)
    with Simulator(seed=args.seed, scale=scale) as sim, tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({**sim.env(), "PLATFORM_KPIS_HOME": tmp})
        catalog = parse_catalog(sim.org.catalog())
        models = {
            "github": sim.github_model,
            "pagerduty": sim.pagerduty_model,
            "zendesk": sim.zendesk_model,
        }
        truths = {s: m.truth(sim.clock.now()) for s, m in models.items()}
        for label in ("full", "incremental"):
            if label == "incremental":
                sim.advance(days=1)
            for source in SOURCES:
                now_truth = models[source].truth(sim.clock.now())
                served = now_truth if label == "full" else changed(truths[source], now_truth)
                need = minimum(
                    source, served, sim.org.repos, sim.org.workflow_repos, label == "full"
                )
                with DuckDBSourceStore(duckdb_path(Path(tmp), source), source) as store:
                    result = sync_source(
                        source, settings, catalog, store, retry=retry, history_start=sim.org.start
                    )
                for r in result.results:
                    rows.append((label, source, r.stream, r.requests, need.get(r.stream, 0)))
                truths[source] = now_truth
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--teams", type=int, default=4)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--activity", type=float, default=1.5)
    ap.add_argument("--customers", type=int, default=200)
    rows = run(ap.parse_args())
    print(f"{'sync':12} {'source/stream':34} {'made':>6} {'minimum':>8} {'ratio':>6}")
    totals: dict[str, list[int]] = {}
    for label, source, stream, made, need in rows:
        ratio = f"{made / need:.2f}" if need else "-"
        print(f"{label:12} {source + '/' + stream:34} {made:>6} {need:>8} {ratio:>6}")
        t = totals.setdefault(label, [0, 0])
        t[0] += made
        t[1] += need
    for label, (made, need) in totals.items():
        print(f"{label:12} {'TOTAL':34} {made:>6} {need:>8} {made / need:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
