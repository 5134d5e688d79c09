"""A cloud billing export for the demo organisation: FinOps FOCUS charges, deterministic in the
organisation's seed.

Each calendar month of the simulated history (``org.start`` to ``org.now0``) gets one charge
per cloud service, its charge period clipped to the history. :func:`billing_rows` gives the
rows (``ChargePeriodStart`` as an aware UTC datetime, ``BilledCost`` a float), the shape
``simulator.truth.kpi_truth(..., billing=rows)`` reads; :func:`write_billing_csv` writes them
as a FOCUS CSV file, the file the catalog's ``settings.billing_export`` names.

    python -m simulator.billing --seed 7 --days 56 data/billing/focus.csv
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.org import Org, Scale

# FOCUS 1.0 columns written (a subset: the ones cost to serve reads, and some context).
FOCUS_COLUMNS = (
    "BillingAccountId",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "ProviderName",
    "ServiceName",
    "ServiceCategory",
    "ChargeCategory",
    "ChargeDescription",
)
# (service, category, monthly base cost): the demo's cloud bill.
SERVICES = (
    ("Compute Engine", "Compute", 4200.0),
    ("Cloud SQL", "Databases", 1800.0),
    ("Cloud Storage", "Storage", 650.0),
)
ACCOUNT = "acme-billing-001"
CURRENCY = "USD"
PROVIDER = "Example Cloud"


def _month_start(t: datetime) -> datetime:
    return datetime(t.year, t.month, 1, tzinfo=UTC)


def _next_month(t: datetime) -> datetime:
    return datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)


def billing_rows(org: Org) -> list[dict[str, Any]]:
    """The export's charges, in order: per month of the history, one per service. The cost is
    the service's monthly base (scaled to ``Scale.cloud_bill`` when set) × the share of the
    month the history covers × a seeded variation, rounded to cents."""
    bill = org.scale.cloud_bill
    factor = 1.0 if bill is None else bill / sum(base for _, _, base in SERVICES)
    rows: list[dict[str, Any]] = []
    month = _month_start(org.start)
    while month < org.now0:
        end_of_month = _next_month(month)
        start, end = max(month, org.start), min(end_of_month, org.now0)
        covered = (end - start) / (end_of_month - month)
        for service, category, base in SERVICES:
            rng = org.rng("billing", month.date().isoformat(), service)
            cost = round(base * factor * covered * rng.uniform(0.85, 1.15), 2)
            rows.append(
                {
                    "BillingAccountId": ACCOUNT,
                    "BillingPeriodStart": month,
                    "BillingPeriodEnd": end_of_month,
                    "ChargePeriodStart": start,
                    "ChargePeriodEnd": end,
                    "BilledCost": cost,
                    "EffectiveCost": cost,
                    "BillingCurrency": CURRENCY,
                    "ProviderName": PROVIDER,
                    "ServiceName": service,
                    "ServiceCategory": category,
                    "ChargeCategory": "Usage",
                    "ChargeDescription": f"{service} usage",
                }
            )
        month = end_of_month
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return repr(value) if isinstance(value, float) else str(value)


def write_billing_csv(org: Org, path: Path | str) -> Path:
    """Write :func:`billing_rows` as a FOCUS CSV file (UTC timestamps with ``Z``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FOCUS_COLUMNS)
        for row in billing_rows(org):
            writer.writerow([_cell(row[c]) for c in FOCUS_COLUMNS])
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=Scale.days, help="days of history")
    args = parser.parse_args(argv)
    org = Org.generate(args.seed, Scale(days=args.days))
    print(write_billing_csv(org, args.path))


if __name__ == "__main__":
    main()
