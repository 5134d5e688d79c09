"""``python -m simulator``: serve the three APIs until interrupted; prints their base URLs."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading

import yaml

from simulator.app import RateLimits, Simulator
from simulator.org import DEMO_SCALE, Org

CATALOG_HEADER = """\
# The demo catalog: the organisation the bundled simulator serves (seed 1, the demo scale),
# with the platform bets it shipped. Regenerate with:
#   python -m simulator --catalog > platform_kpis/demo_catalog.yml
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    # The demo organisation by default; these resize it.
    ap.add_argument("--teams", type=int, default=DEMO_SCALE.teams)
    ap.add_argument("--repos-per-team", type=int, default=DEMO_SCALE.repos_per_team)
    ap.add_argument("--days", type=int, default=DEMO_SCALE.days)
    ap.add_argument("--activity", type=float, default=DEMO_SCALE.activity)
    ap.add_argument("--customers", type=int, default=DEMO_SCALE.customers)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument(
        "--rate-limit",
        action="store_true",
        help="enforce each API's rate limit (scaled to 60 requests per 10 s)",
    )
    ap.add_argument(
        "--catalog", action="store_true", help="print the catalog YAML of the organisation and exit"
    )
    args = ap.parse_args(argv)
    scale = dataclasses.replace(
        DEMO_SCALE,
        teams=args.teams,
        repos_per_team=args.repos_per_team,
        days=args.days,
        activity=args.activity,
        customers=args.customers,
    )
    if args.catalog:
        sys.stdout.write(CATALOG_HEADER)
        yaml.safe_dump(Org.generate(args.seed, scale).catalog(), sys.stdout, sort_keys=False)
        return 0
    limits = RateLimits((60, 10), (60, 10), (60, 10)) if args.rate_limit else None
    sim = Simulator(args.seed, scale, rate_limits=limits, fault_rate=args.fault_rate).start()
    for name, value in sim.env().items():
        print(f"{name}={value}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
