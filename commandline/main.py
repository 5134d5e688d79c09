"""The command line.

``demo``    the nightly job once against the bundled simulator, whatever the environment holds;
``run``     the nightly job once against the APIs the environment names (refuses to start
            without every credential the catalog's sources need);
``status``  the last run, the sync table, the gate's result and the published scorecard, from
            what is stored (no pipeline run, no Dagster import);
``ui``      the Dagster UI against the simulator;
``report``  rebuild the HTML report from the published marts alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from commandline import console
from commandline.last_run import dagster_home, last_run
from platform_kpis import demo_home
from platform_kpis.config import REPO_ROOT, Settings
from platform_kpis.credentials import CATALOG_VARIABLE, missing_credentials

# Variables of a production run that must not reach a simulator run: the simulator's own
# values replace the API ones, and these are dropped so the demo cannot read a real catalog
# or write simulated rows into a real warehouse.
PRODUCTION_ONLY = ("PLATFORM_KPIS_PG_DSN", "PLATFORM_KPIS_HISTORY_START", CATALOG_VARIABLE)
# Names the code location as pyproject's [tool.dagster] does, in the UI as in production.
WORKSPACE = REPO_ROOT / "workspace.yaml"
# How long `ui` waits for Dagster to stop its children before killing what is left.
UI_STOP_GRACE = 8.0


@contextlib.contextmanager
def simulator_environment(seed: int, end: date | None = None, scale=None) -> Iterator[str]:
    """Start the simulator, its history ending on ``end`` (default: today, UTC), and point the
    environment at it, restoring the environment after.

    Whatever credentials, catalog or warehouse the environment names are replaced: a demo
    never reads a real API or writes to a real warehouse."""
    from simulator.app import Simulator
    from simulator.org import DEMO_SCALE, ending_on

    scale, start = ending_on(scale or DEMO_SCALE, end or datetime.now(UTC).date())
    saved = dict(os.environ)
    try:
        for name in PRODUCTION_ONLY:
            os.environ.pop(name, None)
        os.environ["PLATFORM_KPIS_TARGET"] = "duckdb"
        history = {"seed": str(seed), "start": start.isoformat(), "scale": repr(scale)}
        if demo_home.prepare_for_demo(Settings.from_env().home, history):
            print("the simulated history changed since the last demo: its data starts afresh")
        with Simulator(seed=seed, scale=scale, start=start) as sim:
            os.environ.update(sim.env())
            os.environ[CATALOG_VARIABLE] = str(demo_catalog_with_billing(sim))
            yield (
                f"the bundled simulator (seed {seed}, history {sim.org.start:%Y-%m-%d} to "
                f"{sim.org.now0:%Y-%m-%d}) at {sim.base_urls['github']} and friends"
            )
    finally:
        os.environ.clear()
        os.environ.update(saved)


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


def _use_dagster_home(settings: Settings) -> Path:
    home = dagster_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_demo(seed: int, end: date | None = None, scale=None) -> int:
    """The nightly job against the simulator. ``scale`` (tests) shrinks the organisation."""
    print(
        "demo: the nightly job against the bundled simulator; credentials, catalog and "
        "warehouse in the environment are ignored (`platform-kpis run` reads the real APIs)",
        flush=True,
    )
    with simulator_environment(seed, end, scale) as where:
        _use_dagster_home(Settings.from_env())
        print(f"APIs: {where}", flush=True)
        return run_nightly()


def run_production() -> int:
    """The nightly job once against the APIs the environment names, after checking that every
    variable the catalog's sources need is set (no request is made otherwise)."""
    from platform_kpis.catalog import CatalogError, load_catalog

    try:
        settings = Settings.from_env()
    except ValueError as exc:  # the target or its DSN, named
        print(f"platform-kpis run: {exc}", file=sys.stderr)
        return 2
    if settings.catalog_path is None:
        print(
            f"platform-kpis run: set {CATALOG_VARIABLE} to your catalog "
            "(shape: docs/catalog.example.yml); `platform-kpis demo` runs the bundled one",
            file=sys.stderr,
        )
        return 2
    try:
        catalog = load_catalog(settings.catalog_path)
    except CatalogError as exc:
        print(f"platform-kpis run: {exc}", file=sys.stderr)
        return 2
    missing = missing_credentials(os.environ, catalog)
    if missing:
        print(
            "platform-kpis run: not starting, the catalog's sources need "
            + ", ".join(missing)
            + " (see README, Configuration; `platform-kpis demo` needs none)",
            file=sys.stderr,
        )
        return 2
    demo_home.check_not_demo(settings.home)
    _use_dagster_home(settings)
    print(
        f"run: the nightly job against the APIs the environment names "
        f"(GitHub {settings.github_api_url}, PagerDuty {settings.pagerduty_api_url}, "
        f"Zendesk {settings.zendesk_url}), catalog {settings.catalog_path}",
        flush=True,
    )
    return run_nightly()


def run_nightly() -> int:
    """Execute the nightly job in process, in the Dagster instance of DAGSTER_HOME, with the
    environment as it is now; then print what it did."""
    import dagster as dg

    # Built here, not imported, so the resources read this environment (a demo's simulator).
    from orchestration.definitions import build_defs

    # Warnings and errors only on the console: every step's events are in the Dagster
    # instance (open `tasks.py ui` to read them).
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    result = (
        build_defs()
        .resolve_job_def("nightly")
        .execute_in_process(
            run_config=quiet, instance=dg.DagsterInstance.get(), raise_on_error=False
        )
    )
    # A failed run's summary file and webhook, as the daemon's run-failure sensor writes them.
    if not result.success:
        from orchestration.monitoring import report_run_failure

        report_run_failure(dg.DagsterInstance.get(), result.dagster_run)
    settings = Settings.from_env()
    console.print_sync_table(settings)
    console.print_scorecard(settings)
    print_gate(result)
    print("nightly job:", "succeeded" if result.success else "FAILED")
    console.print_report_path(settings, fresh=result.success)
    return 0 if result.success else 1


def print_gate(result) -> None:
    """What the gate found in a run: each failed expectation (blocking ones first) with its
    table, rows affected, example keys and what to do; warnings too."""
    import dagster as dg

    from orchestration.monitoring import findings

    evaluations = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    console.print_gate(findings(evaluations))


def run_status() -> int:
    """The last nightly run and what it left, read from storage only."""
    settings = Settings.from_env()
    home = dagster_home(settings)
    run = last_run(home)
    if run is None:
        print(f"no nightly run yet in the Dagster instance at {home}")
    else:
        when = f"{run.started:%Y-%m-%d %H:%M} UTC" if run.started else "not started"
        took = f", {run.ended - run.started}".split(".")[0] if run.ended and run.started else ""
        print(f"last nightly run: {run.status} (started {when}{took}; run id {run.run_id})")
    console.print_sync_table(settings)
    if run is not None:
        console.print_gate(run.findings)
    console.print_scorecard(settings)
    console.print_report_path(settings, fresh=run is not None and run.status == "SUCCESS")
    return 0


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


def run_ui(seed: int, end: date | None = None) -> int:
    """`dagster dev` against the simulator. Dagster runs in its own process group; Ctrl-C or
    SIGTERM here is passed on as the interrupt Dagster shuts down on, and whatever of its
    group is still alive after a grace period is killed, so no code server, webserver or
    daemon outlives this command."""
    print(
        "ui: the Dagster UI against the bundled simulator; credentials, catalog and "
        "warehouse in the environment are ignored",
        flush=True,
    )
    with simulator_environment(seed, end) as where:
        _use_dagster_home(Settings.from_env())
        port = os.environ.get("DAGSTER_PORT", "3000")
        print(f"Dagster UI on http://127.0.0.1:{port} (APIs: {where})", flush=True)
        cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", port]
        proc = subprocess.Popen([*cmd, "-w", str(WORKSPACE)], cwd=REPO_ROOT, start_new_session=True)
        stopping: list[int] = []

        def stop(signum: int, _frame) -> None:
            stopping.append(signum)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while proc.poll() is None and not stopping:
                time.sleep(0.2)
            deadline = time.monotonic() + UI_STOP_GRACE
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            _kill_group(proc.pid)
            proc.wait()
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 0 if stopping else proc.returncode


def _kill_group(pgid: int) -> None:
    """Kill what is left of a process group (children Dagster did not stop in time)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    from simulator.org import DEMO_SCALE, fixed_end

    ap = argparse.ArgumentParser(prog="platform-kpis", description=__doc__.split("\n\n")[1])
    ap.add_argument("command", choices=["demo", "run", "status", "ui", "report"])
    ap.add_argument("--seed", type=int, default=1, help="simulator seed (demo and ui)")
    ap.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="the day the simulated history ends (demo and ui; default: today, UTC); "
        f"{fixed_end(DEMO_SCALE)} is the demo catalog's history, for reproducible runs",
    )
    args = ap.parse_args(argv)
    commands = {
        "demo": lambda: run_demo(args.seed, args.date),
        "run": run_production,
        "status": run_status,
        "ui": lambda: run_ui(args.seed, args.date),
        "report": run_report,
    }
    try:
        return commands[args.command]()
    except demo_home.HomeInUse as exc:
        print(f"platform-kpis {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
