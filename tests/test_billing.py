"""The billing export: the FOCUS loader (CSV and Parquet into catalog.billing_charges, on DuckDB
and Postgres), its errors on bad files, the simulator's export, and cost to serve with an
export configured against the ground truth."""

from __future__ import annotations

import csv
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from platform_kpis.catalog import Catalog, CatalogError, parse_catalog
from simulator.billing import FOCUS_COLUMNS, billing_rows, write_billing_csv
from simulator.org import Org, Scale
from simulator.truth import kpi_truth
from tests.conftest import SMALL
from tests.marts_support import build_marts, diff_table, read_table, run_dbt
from warehouse.billing import BillingExportError, load_billing
from warehouse.catalog_tables import dbt_env

ORG = Org.generate(7, SMALL)


def catalog_with(export: str | Path | None) -> Catalog:
    return dataclasses.replace(
        parse_catalog(ORG.catalog()), billing_export=None if export is None else str(export)
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def duckdb_charges(home: Path) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("""select charge_period_start, billed_cost, service_name
            from catalog.billing_charges order by source_file, source_row""").fetchall()
    finally:
        con.close()


def duckdb_status(home: Path) -> tuple:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("""select is_configured, files, charges
            from catalog.billing_export_status""").fetchone()
    finally:
        con.close()


def expected(rows: list[dict]) -> list[tuple]:
    return [
        (
            r["ChargePeriodStart"].astimezone(UTC).replace(tzinfo=None),
            r["BilledCost"],
            r["ServiceName"],
        )
        for r in rows
    ]


# ----------------------------------------------------------------------------------------------
# The simulator's export
# ----------------------------------------------------------------------------------------------


def test_simulated_export_is_deterministic_and_covers_the_history(tmp_path):
    rows = billing_rows(ORG)
    assert rows == billing_rows(Org.generate(7, SMALL))
    assert rows != billing_rows(Org.generate(8, SMALL))
    months = {(r["ChargePeriodStart"].year, r["ChargePeriodStart"].month) for r in rows}
    assert months == {(2026, 1), (2026, 2)}  # 28 days from Monday 5 January
    assert all(ORG.start <= r["ChargePeriodStart"] < ORG.now0 for r in rows)
    assert all(r["BilledCost"] > 0 for r in rows)
    path = write_billing_csv(ORG, tmp_path / "focus.csv")
    with path.open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == FOCUS_COLUMNS
        assert [float(r["BilledCost"]) for r in reader] == [r["BilledCost"] for r in rows]


# ----------------------------------------------------------------------------------------------
# The loader, DuckDB
# ----------------------------------------------------------------------------------------------


def test_csv_export_loads_every_charge(tmp_path):
    write_billing_csv(ORG, tmp_path / "export" / "2026-01" / "focus.csv")
    load = load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    rows = billing_rows(ORG)
    assert load.configured and load.charges == len(rows) and len(load.files) == 1
    assert duckdb_charges(tmp_path) == expected(rows)
    assert duckdb_status(tmp_path) == (True, 1, len(rows))


def test_parquet_and_csv_files_of_one_folder(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    export = tmp_path / "export"
    export.mkdir()
    # Typed columns: an aware timestamp and a decimal cost (as cloud exports write them).
    pq.write_table(
        pa.table(
            {
                "ChargePeriodStart": pa.array(
                    [datetime(2026, 1, 31, 23, 30, tzinfo=UTC)], pa.timestamp("us", tz="UTC")
                ),
                "BilledCost": pa.array([Decimal("10.25")], pa.decimal128(12, 2)),
                "ServiceName": ["Compute"],
            }
        ),
        export / "a.parquet",
    )
    # Text columns with an offset and lower-case names: still FOCUS, read the same.
    pq.write_table(
        pa.table(
            {
                "chargeperiodstart": ["2026-02-01T01:00:00+02:00"],
                "billedcost": ["4.5"],
            }
        ),
        export / "b.parquet",
    )
    write_csv(
        export / "c.csv",
        ["ChargePeriodStart", "BilledCost"],
        [["2026-02-03T00:00:00Z", "1e2"], ["2026-02-04", "-3"]],
    )
    load = load_billing(catalog_with(export), target="duckdb", home=tmp_path)
    assert load.charges == 4 and [f.name for f in load.files] == ["a.parquet", "b.parquet", "c.csv"]
    assert duckdb_charges(tmp_path) == [
        (datetime(2026, 1, 31, 23, 30), 10.25, "Compute"),
        (datetime(2026, 1, 31, 23, 0), 4.5, None),  # 01:00+02:00 is January in UTC
        (datetime(2026, 2, 3), 100.0, None),
        (datetime(2026, 2, 4), -3.0, None),
    ]


def test_relative_export_path_resolves_against_base_dir(tmp_path):
    write_billing_csv(ORG, tmp_path / "conf" / "billing" / "focus.csv")
    load = load_billing(
        catalog_with("billing/focus.csv"),
        target="duckdb",
        home=tmp_path,
        base_dir=tmp_path / "conf",
    )
    assert load.export_path == tmp_path / "conf" / "billing" / "focus.csv"
    assert load.charges == len(billing_rows(ORG))


def test_without_an_export_the_tables_are_empty_and_say_so(tmp_path):
    write_billing_csv(ORG, tmp_path / "focus.csv")
    load_billing(catalog_with(tmp_path / "focus.csv"), target="duckdb", home=tmp_path)
    load = load_billing(catalog_with(None), target="duckdb", home=tmp_path)
    assert not load.configured and load.charges == 0
    assert duckdb_charges(tmp_path) == []
    assert duckdb_status(tmp_path) == (False, 0, 0)


GOOD = ["2026-01-05T00:00:00Z", "1"]


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        (["ChargePeriodStart", "Cost"], [GOOD], "missing required FOCUS column 'BilledCost'"),
        (["BilledCost"], [["1"]], "missing required FOCUS column 'ChargePeriodStart'"),
        (
            ["ChargePeriodStart", "BilledCost"],
            [GOOD, ["2026-01-05T00:00:00Z", "12,50"]],
            "row 2, column 'BilledCost': '12,50' is not a number",
        ),
        (
            ["ChargePeriodStart", "BilledCost"],
            [GOOD, ["2026-01-05T00:00:00Z", ""]],
            "row 2, column 'BilledCost': empty",
        ),
        (
            ["ChargePeriodStart", "BilledCost"],
            [GOOD, ["2026-01-05T00:00:00Z", "NaN"]],
            "row 2, column 'BilledCost': 'NaN' is not a finite number",
        ),
        (
            ["ChargePeriodStart", "BilledCost"],
            [GOOD, ["05/01/2026", "1"]],
            "row 2, column 'ChargePeriodStart': '05/01/2026' is not an ISO 8601 date-time",
        ),
        (
            ["ChargePeriodStart", "BilledCost"],
            [GOOD, ["", "1"]],
            "row 2, column 'ChargePeriodStart': empty",
        ),
    ],
)
def test_a_bad_file_names_the_file_row_and_column(tmp_path, header, rows, message):
    bad = write_csv(tmp_path / "export" / "bad.csv", header, rows)
    with pytest.raises(BillingExportError) as excinfo:
        load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    assert str(bad) in str(excinfo.value)
    assert message in str(excinfo.value)


def test_a_parquet_file_without_a_required_column(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"ChargePeriodStart": ["2026-01-05"]}), tmp_path / "x.parquet")
    with pytest.raises(
        BillingExportError,
        match=r"x\.parquet: missing required FOCUS column "
        r"'BilledCost'",
    ):
        load_billing(catalog_with(tmp_path / "x.parquet"), target="duckdb", home=tmp_path)


def test_missing_path_empty_folder_and_foreign_file(tmp_path):
    with pytest.raises(BillingExportError, match="does not exist"):
        load_billing(catalog_with(tmp_path / "nowhere"), target="duckdb", home=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BillingExportError, match="holds no CSV"):
        load_billing(catalog_with(tmp_path / "empty"), target="duckdb", home=tmp_path)
    (tmp_path / "bill.xlsx").write_text("x")
    with pytest.raises(BillingExportError, match="is not a CSV"):
        load_billing(catalog_with(tmp_path / "bill.xlsx"), target="duckdb", home=tmp_path)


def test_a_failed_load_keeps_the_previous_charges(tmp_path):
    write_billing_csv(ORG, tmp_path / "export" / "a.csv")
    load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    before = duckdb_charges(tmp_path)
    write_csv(
        tmp_path / "export" / "b.csv",
        ["ChargePeriodStart", "BilledCost"],
        [["2026-01-06T00:00:00Z", "oops"]],
    )
    with pytest.raises(BillingExportError, match="b.csv"):
        load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    assert duckdb_charges(tmp_path) == before
    assert duckdb_status(tmp_path) == (True, 1, len(before))


def test_an_export_delivered_twice_is_counted_once_and_the_load_says_so(tmp_path):
    write_billing_csv(ORG, tmp_path / "export" / "a.csv")
    write_billing_csv(ORG, tmp_path / "export" / "b.csv")  # the same export, delivered again
    rows = billing_rows(ORG)
    load = load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    assert (load.charges, load.duplicate_charges) == (len(rows), len(rows))
    assert load.duplicates == (f"b.csv repeats {len(rows)} charges of a.csv",)
    assert duckdb_charges(tmp_path) == expected(rows)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        status = con.execute(
            """select files, charges, duplicate_charges, duplicates
            from catalog.billing_export_status"""
        ).fetchone()
    finally:
        con.close()
    assert status == (2, len(rows), len(rows), f"b.csv repeats {len(rows)} charges of a.csv")


def test_repeats_within_one_file_are_distinct_charges_and_a_longer_export_adds_only_news(
    tmp_path,
):
    header = ["ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "ResourceId"]
    day = ["2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", "10", "vm-1"]
    write_csv(tmp_path / "export" / "a.csv", header, [day, day])
    # b.csv re-delivers both charges of a.csv, a third copy, and another resource.
    write_csv(
        tmp_path / "export" / "b.csv",
        header,
        [day, day, day, ["2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", "10", "vm-2"]],
    )
    load = load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    assert (load.charges, load.duplicate_charges) == (4, 2)
    assert sum(cost for _, cost, _ in duckdb_charges(tmp_path)) == 40


CURRENCY_HEADER = ["ChargePeriodStart", "BilledCost", "BillingCurrency", "ServiceName"]
CURRENCY_ROWS = [
    ["2026-01-05T00:00:00Z", "100", "USD", "Compute"],
    ["2026-01-05T00:00:00Z", "30000", "JPY", "Compute"],
]


def test_two_currencies_are_an_error_naming_them(tmp_path):
    write_csv(tmp_path / "export" / "focus.csv", CURRENCY_HEADER, CURRENCY_ROWS)
    with pytest.raises(BillingExportError, match=r"more than one currency: USD .*JPY") as err:
        load_billing(catalog_with(tmp_path / "export"), target="duckdb", home=tmp_path)
    assert "settings.billing" in str(err.value)


def test_a_reporting_currency_converts_the_others(tmp_path):
    write_csv(tmp_path / "export" / "focus.csv", CURRENCY_HEADER, CURRENCY_ROWS)
    doc = ORG.catalog()
    doc["settings"]["billing"] = {"currency": "USD", "exchange_rates": {"JPY": 0.0067}}
    catalog = dataclasses.replace(parse_catalog(doc), billing_export=str(tmp_path / "export"))
    load_billing(catalog, target="duckdb", home=tmp_path)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "select billed_cost, billing_currency from catalog.billing_charges order by source_row"
        ).fetchall()
    finally:
        con.close()
    assert rows == [(100.0, "USD"), (pytest.approx(201.0), "USD")]  # 30000 JPY x 0.0067
    doc["settings"]["billing"] = {"currency": "EUR", "exchange_rates": {"JPY": 0.006}}
    catalog = dataclasses.replace(parse_catalog(doc), billing_export=str(tmp_path / "export"))
    with pytest.raises(BillingExportError, match="USD has no rate into EUR"):
        load_billing(catalog, target="duckdb", home=tmp_path)


@pytest.mark.parametrize(
    "billing, message",
    [
        ({"currency": "usd"}, "settings.billing.currency must be an ISO 4217 code"),
        ({"exchange_rates": {"JPY": 1}}, "settings.billing needs 'currency'"),
        ({"currency": "USD", "exchange_rates": {"JPY": 0}}, "exchange_rates.JPY must be a pos"),
        ({"currency": "USD", "rates": {}}, "settings.billing has unknown keys"),
    ],
)
def test_billing_settings_are_validated(billing, message):
    doc = ORG.catalog()
    doc["settings"]["billing"] = billing
    with pytest.raises(CatalogError, match=message):
        parse_catalog(doc)


# ----------------------------------------------------------------------------------------------
# The loader, Postgres
# ----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_load_replace_and_failed_load(tmp_path, pg_dsn):
    import psycopg

    def charges() -> list[tuple]:
        with psycopg.connect(pg_dsn) as con:
            return con.execute("""select charge_period_start, billed_cost, service_name
                from catalog.billing_charges order by source_file, source_row""").fetchall()

    write_billing_csv(ORG, tmp_path / "export" / "a.csv")
    load = load_billing(catalog_with(tmp_path / "export"), target="postgres", dsn=pg_dsn)
    assert load.charges == len(billing_rows(ORG))
    assert charges() == expected(billing_rows(ORG))
    # A view over the table (as dbt builds) survives a reload.
    with psycopg.connect(pg_dsn) as con:
        con.execute("create view public.charges_view as select * from catalog.billing_charges")
    write_csv(
        tmp_path / "export" / "b.csv",
        ["ChargePeriodStart", "BilledCost"],
        [["2026-01-06T00:00:00Z", "oops"]],
    )
    with pytest.raises(BillingExportError, match="b.csv"):
        load_billing(catalog_with(tmp_path / "export"), target="postgres", dsn=pg_dsn)
    assert charges() == expected(billing_rows(ORG))
    load_billing(catalog_with(None), target="postgres", dsn=pg_dsn)
    assert charges() == []
    with psycopg.connect(pg_dsn) as con:
        assert con.execute("""select is_configured, files, charges
            from catalog.billing_export_status""").fetchall() == [(False, 0, 0)]
        assert con.execute("select count(*) from public.charges_view").fetchone() == (0,)


# ----------------------------------------------------------------------------------------------
# Cost to serve with an export, against the ground truth
# ----------------------------------------------------------------------------------------------

BILLING_TABLES = ("kpi_cost_to_serve_monthly", "kpi_support_monthly", "kpi_scorecard")


@pytest.mark.slow
@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_cost_to_serve_with_an_export_equals_the_truth(tmp_path, request, target):
    dsn = request.getfixturevalue("pg_dsn") if target == "postgres" else None
    scale = Scale(teams=2, repos_per_team=2, members_per_team=3, days=28, customers=15)
    built = build_marts(tmp_path, seed=7, scale=scale, target=target, dsn=dsn, dbt_args=("run",))
    org = built.sim.org
    # The simulator's charges, plus one in a month before any other event: the monthly
    # range starts there (0 tickets, 0 ops hours, a compute cost).
    rows = billing_rows(org) + [
        {
            "ChargePeriodStart": datetime(2025, 12, 20, tzinfo=UTC),
            "BilledCost": 99.5,
            "ServiceName": "Cloud Storage",
        }
    ]
    write_billing_csv(org, tmp_path / "billing" / "focus.csv")
    write_csv(
        tmp_path / "billing" / "late.csv",
        ["ChargePeriodStart", "BilledCost", "ServiceName"],
        [["2025-12-20T00:00:00Z", "99.5", "Cloud Storage"]],
    )
    catalog = dataclasses.replace(parse_catalog(org.catalog()), billing_export="billing")
    load = load_billing(catalog, target=target, home=tmp_path, dsn=dsn, base_dir=tmp_path)
    assert load.charges == len(rows)
    run_dbt(
        ["build", "--select", "int_billing_charges_loaded+ int_billing_exports_configured+"],
        tmp_path,
        dbt_env(target=target, home=tmp_path, dsn=dsn),
    )
    truth = kpi_truth(built.sim, billing=rows)
    for table in BILLING_TABLES:
        differences = diff_table(table, read_table(built, table), truth[table])
        assert not differences, "\n".join(differences)
    cost = {r["month_start"]: r for r in read_table(built, "kpi_cost_to_serve_monthly")}
    first = cost[min(cost)]
    assert (first["compute_cost"], first["ops_hours"]) == (99.5, 0)
    assert all(r["has_billing_export"] and r["compute_cost"] is not None for r in cost.values())
