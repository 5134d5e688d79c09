"""``platform-kpis demo`` and ``platform-kpis ui``: the pipeline against the simulator, or
against the real APIs when credentials are set in the environment. ``platform-kpis report``
rebuilds the HTML report from the published marts alone."""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from platform_kpis.config import REPO_ROOT, Settings


@contextlib.contextmanager
def api_environment(seed: int) -> Iterator[str]:
    """With no credential set, start the simulator and point the environment at it."""
    if not Settings.from_env().uses_simulator:
        yield "the APIs named by the environment"
        return
    from simulator.app import Simulator
    from simulator.org import DEMO_SCALE

    with Simulator(seed=seed, scale=DEMO_SCALE) as sim:
        os.environ.update(sim.env())
        if not os.environ.get("PLATFORM_KPIS_CATALOG"):
            os.environ["PLATFORM_KPIS_CATALOG"] = str(demo_catalog_with_billing(sim))
        yield f"the simulator (seed {seed}) at {sim.base_urls['github']} and friends"


def demo_catalog_with_billing(sim) -> Path:
    """The demo catalog plus a FOCUS billing export the simulator writes, so the demo's cost
    to serve has a compute cost."""
    import yaml

    from simulator.billing import write_billing_csv

    home = Settings.from_env().home
    home.mkdir(parents=True, exist_ok=True)
    write_billing_csv(sim.org, home / "billing" / "focus.csv")
    doc = sim.org.catalog()
    doc["settings"]["billing_export"] = "billing"  # relative to the catalog file's folder
    path = home / "demo_catalog.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _dagster_home(settings: Settings) -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_demo(seed: int) -> int:
    settings = Settings.from_env()
    _dagster_home(settings)
    with api_environment(seed) as where:
        print(f"running the nightly job against {where}", flush=True)
        import dagster as dg

        from orchestration.definitions import defs

        # Warnings and errors only on the console: every step's events are in the Dagster
        # instance (open `tasks.py ui` to read them).
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        result = defs.resolve_job_def("nightly").execute_in_process(
            run_config=quiet, instance=dg.DagsterInstance.get(), raise_on_error=False
        )
        # A failed run's summary file and webhook, as the daemon's run-failure sensor writes.
        if not result.success:
            from orchestration.monitoring import report_run_failure

            report_run_failure(dg.DagsterInstance.get(), result.dagster_run)
        print_summary(Settings.from_env())
        print_gate(result)
        print("nightly job:", "succeeded" if result.success else "FAILED")
        print_report_path(Settings.from_env(), fresh=result.success)
        return 0 if result.success else 1


def print_gate(result) -> None:
    """What the gate found tonight: each failed expectation (blocking ones first) with its
    table, rows affected, example keys and what to do; warnings too."""
    import dagster as dg

    from orchestration.monitoring import gate_report

    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    text = gate_report(evaluations)
    if not text:
        print("\ngate: every expectation passed")
        return
    blocked = any(not e.passed and e.severity == dg.AssetCheckSeverity.ERROR for e in evaluations)
    verdict = "BLOCKED publication" if blocked else "passed with warnings"
    print(f"\ngate: {verdict}")
    print(text)


def print_report_path(settings: Settings, fresh: bool) -> None:
    from reporting.render import report_path

    path = report_path(settings.home)
    if not path.exists():
        print("no report yet: it is built after the first publication")
        return
    # A failed night publishes nothing, so the report on disk is the last good one.
    which = "report" if fresh else "report (of the last good publication)"
    print(f"{which}: {path} (open it in a browser; rebuild it with `tasks.py report`)")


def run_report() -> int:
    """Rebuild the report from the published marts, without running the pipeline."""
    from reporting.marts import NoPublication
    from reporting.render import build_report

    settings = Settings.from_env()
    dsn = settings.pg_dsn.reveal() if settings.pg_dsn else None
    try:
        built = build_report(settings.target, settings.home, dsn)
    except NoPublication as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"report: {built.path} ({built.bytes:,} bytes in {built.seconds:.1f} s)")
    return 0


def print_summary(settings: Settings) -> None:
    from extractors.rawstore import SOURCES, open_store

    print(f"\n{'source/stream':34} {'status':8} {'records':>8} {'requests':>9} {'retries':>8}")
    for source in SOURCES:
        with open_store(
            source,
            target=settings.target,
            home=settings.home,
            dsn=settings.pg_dsn.reveal() if settings.pg_dsn else None,
        ) as store:
            for row in store.status_rows():
                print(
                    f"{row['source'] + '/' + row['stream']:34} {row['status']:8} "
                    f"{row['records']:>8} {row['requests']:>9} {row['retries']:>8}"
                )
    if settings.target == "duckdb":
        print(f"\nraw layer: {settings.home / 'raw'}/<source>.duckdb")
        print_scorecard(settings)


def print_scorecard(settings: Settings) -> None:
    """The org-wide scorecard of the latest published month, from the published file."""
    import duckdb

    from expectations.publish import published_path

    path = published_path(settings.home)
    if not path.exists():
        print("no published marts yet (the gate has not passed once)")
        return
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("""
            select month_start, kpi, value, previous_value, change_pct, n
            from marts.kpi_scorecard
            where month_start = (
                -- The latest month is tonight's partial one: show the last complete month.
                select coalesce(max(month_start) filter (
                    where month_start < (select max(month_start) from marts.kpi_scorecard)),
                    max(month_start))
                from marts.kpi_scorecard)
            order by kpi""").fetchall()
    finally:
        con.close()
    if not rows:
        print("the published scorecard is empty")
        return
    print(f"\nscorecard, {rows[0][0]:%B %Y} (org-wide, the last complete month)")
    print(f"{'kpi':28} {'value':>12} {'previous':>12} {'change %':>9} {'n':>6}")
    for _, kpi, value, previous, change, n in rows:
        print(
            f"{kpi:28} {_fmt(value):>12} {_fmt(previous):>12} {_fmt(change):>9} "
            f"{'' if n is None else n:>6}"
        )
    print(f"\npublished marts: {path} (schema marts; open it read-only from a BI tool)")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def run_ui(seed: int) -> int:
    settings = Settings.from_env()
    _dagster_home(settings)
    with api_environment(seed) as where:
        port = os.environ.get("DAGSTER_PORT", "3000")
        print(f"Dagster UI on http://127.0.0.1:{port} (APIs: {where})", flush=True)
        return subprocess.call(
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                port,
                "-m",
                "orchestration.definitions",
            ],
            cwd=REPO_ROOT,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="platform-kpis")
    ap.add_argument("command", choices=["demo", "ui", "report"])
    ap.add_argument("--seed", type=int, default=1, help="simulator seed (demo data)")
    args = ap.parse_args(argv)
    if args.command == "report":
        return run_report()
    return run_demo(args.seed) if args.command == "demo" else run_ui(args.seed)


if __name__ == "__main__":
    sys.exit(main())
