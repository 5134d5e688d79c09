"""The cloud billing export: FinOps FOCUS charges into the warehouse, for cost to serve.

The catalog's ``settings.billing_export`` names a file or a folder of FOCUS exports (CSV,
gzipped CSV or Parquet; a folder is read recursively, files in name order). Every charge needs
``ChargePeriodStart`` and ``BilledCost`` (column names match case-insensitively);
``ChargePeriodEnd``, ``BillingCurrency``, ``ProviderName``, ``ServiceName`` and
``ChargeCategory`` are kept when present; ``ResourceId`` and ``ChargeDescription`` only tell
charges apart.

Two rules keep wrong exports out of cost to serve:

- A charge that repeats one of an earlier file (same charge period start and end, resource,
  description, category, currency and amount) is counted once: the same export delivered twice
  into the folder must not double the cost. Repeats within one file are distinct line items
  and are kept. The status row counts the repeats and names the files.
- Charges in more than one ``BillingCurrency`` are an error naming the currencies, unless the
  catalog names the reporting currency and the rates into it (``settings.billing: {currency:
  USD, exchange_rates: {JPY: 0.0067}}``). Then ``billed_cost`` is loaded converted and
  ``billing_currency`` is the reporting currency; ``source_file``/``source_row`` still point at
  the original charge.

:func:`load_billing` replaces, in one transaction, the two tables the dbt models read:

- ``catalog.billing_charges``: one row per charge, timestamps as naive UTC (like staging);
  empty when no export is configured;
- ``catalog.billing_export_status``: one row saying whether an export is configured, the path
  read, and how many files and charges were loaded. Without a configured export the marts
  publish ``compute_cost`` NULL (unknown), never 0.

A missing path, a file without a required column, or a value that does not parse raises
:class:`BillingExportError` naming the file (and the row and column), and the tables keep
their previous contents.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import math
from collections import Counter as CounterOf
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from platform_kpis.catalog import BillingSettings, Catalog
from warehouse.catalog_tables import CATALOG_SCHEMA, warehouse_path

CHARGES_TABLE = "billing_charges"
STATUS_TABLE = "billing_export_status"
REQUIRED_COLUMNS = ("ChargePeriodStart", "BilledCost")
OPTIONAL_COLUMNS = (
    "ChargePeriodEnd",
    "BillingCurrency",
    "ProviderName",
    "ServiceName",
    "ChargeCategory",
    "ResourceId",
    "ChargeDescription",
)
CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".parq")
BATCH_ROWS = 10_000

# (column, logical type) of catalog.billing_charges, in order.
CHARGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("charge_period_start", "timestamp"),
    ("charge_period_end", "timestamp"),
    ("billed_cost", "double"),
    ("billing_currency", "text"),
    ("provider_name", "text"),
    ("service_name", "text"),
    ("charge_category", "text"),
    ("source_file", "text"),
    ("source_row", "bigint"),
)
STATUS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("is_configured", "boolean"),
    ("export_path", "text"),
    ("files", "bigint"),
    ("charges", "bigint"),
    ("loaded_at", "timestamptz"),
    ("duplicate_charges", "bigint"),
    ("duplicates", "text"),
)
_TYPES = {
    "duckdb": {
        "timestamp": "timestamp",
        "timestamptz": "timestamp with time zone",
        "double": "double",
        "text": "varchar",
        "bigint": "bigint",
        "boolean": "boolean",
    },
    "postgres": {
        "timestamp": "timestamp without time zone",
        "timestamptz": "timestamp with time zone",
        "double": "double precision",
        "text": "text",
        "bigint": "bigint",
        "boolean": "boolean",
    },
}


class BillingExportError(ValueError):
    """The billing export cannot be read; the message names the file, row and column."""


@dataclass(frozen=True)
class BillingCharge:
    charge_period_start: datetime  # naive UTC
    charge_period_end: datetime | None
    billed_cost: float
    billing_currency: str | None
    provider_name: str | None
    service_name: str | None
    charge_category: str | None
    source_file: str
    source_row: int  # 1-based data row of the file (CSV: the header is row 0)
    resource_id: str | None = None
    charge_description: str | None = None

    @property
    def identity(self) -> tuple[Any, ...]:
        """What makes two rows of different files the same charge."""
        return (
            self.charge_period_start,
            self.charge_period_end,
            self.resource_id,
            self.charge_description,
            self.charge_category,
            self.billing_currency,
            self.billed_cost,
        )

    def as_row(self) -> tuple[Any, ...]:
        return (
            self.charge_period_start,
            self.charge_period_end,
            self.billed_cost,
            self.billing_currency,
            self.provider_name,
            self.service_name,
            self.charge_category,
            self.source_file,
            self.source_row,
        )


@dataclass(frozen=True)
class BillingLoad:
    """What :func:`load_billing` wrote."""

    configured: bool
    export_path: Path | None
    files: tuple[Path, ...]
    charges: int
    duplicate_charges: int = 0
    duplicates: tuple[str, ...] = ()  # "b.csv repeats 12 charges of a.csv"


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def export_path(catalog: Catalog, base_dir: Path | str | None = None) -> Path | None:
    """The configured export path (relative paths resolve against ``base_dir``, by default
    the working directory), or None when the catalog configures none."""
    if not catalog.billing_export:
        return None
    path = Path(str(catalog.billing_export)).expanduser()
    if not path.is_absolute():
        path = Path(base_dir or Path.cwd()) / path
    return path


def _is_export_file(path: Path) -> bool:
    name = path.name.lower()
    return (
        path.is_file()
        and not name.startswith(".")
        and name.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES)
    )


def export_files(path: Path) -> list[Path]:
    """The CSV and Parquet files of an export: the file itself, or every one under a folder
    (recursively, in path order)."""
    if not path.exists():
        raise BillingExportError(
            f"billing export {path} does not exist (catalog settings.billing_export)"
        )
    if path.is_file():
        if not _is_export_file(path):
            raise BillingExportError(
                f"billing export {path} is not a CSV (.csv, .csv.gz) or Parquet file"
            )
        return [path]
    files = sorted(p for p in path.rglob("*") if _is_export_file(p))
    if not files:
        raise BillingExportError(
            f"billing export folder {path} holds no CSV (.csv, .csv.gz) or Parquet file"
        )
    return files


def _column_map(file: Path, names: Sequence[str]) -> dict[str, str]:
    """FOCUS column -> the file's column name (case-insensitive); required ones must exist."""
    by_lower = {str(n).strip().lower(): str(n) for n in names}
    found = {
        c: by_lower[c.lower()] for c in REQUIRED_COLUMNS + OPTIONAL_COLUMNS if c.lower() in by_lower
    }
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise BillingExportError(
            f"billing export {file}: missing required FOCUS column "
            f"{', '.join(repr(c) for c in missing)} (columns found: "
            f"{', '.join(str(n) for n in names) or 'none'})"
        )
    return found


def _where(file: Path, row: int, column: str) -> str:
    return f"billing export {file}: row {row}, column {column!r}"


def parse_timestamp(
    value: Any, file: Path, row: int, column: str, required: bool
) -> datetime | None:
    """A naive UTC datetime from an ISO 8601 string (``Z``, an offset, or none = UTC), a
    date, or a datetime (aware ones converted to UTC)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BillingExportError(f"{_where(file, row, column)}: empty, a value is required")
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise BillingExportError(
                f"{_where(file, row, column)}: {text!r} is not an ISO 8601 date-time"
            ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_cost(value: Any, file: Path, row: int, column: str) -> float:
    """A finite number from a number or numeric text (``1234.5``, ``-3``, ``1e3``)."""
    if isinstance(value, bool):
        raise BillingExportError(f"{_where(file, row, column)}: {value!r} is not a number")
    if isinstance(value, int | float | Decimal):
        number = float(value)
    else:
        text = "" if value is None else str(value).strip()
        if not text:
            raise BillingExportError(f"{_where(file, row, column)}: empty, a number is required")
        try:
            number = float(Decimal(text))
        except (InvalidOperation, ValueError):
            raise BillingExportError(
                f"{_where(file, row, column)}: {text!r} is not a number"
            ) from None
    if not math.isfinite(number):
        raise BillingExportError(f"{_where(file, row, column)}: {value!r} is not a finite number")
    return number


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _charge(record: dict[str, Any], columns: dict[str, str], file: Path, row: int) -> BillingCharge:
    def get(name: str) -> Any:
        return record.get(columns[name]) if name in columns else None

    return BillingCharge(
        charge_period_start=parse_timestamp(  # type: ignore[arg-type]
            get("ChargePeriodStart"), file, row, columns["ChargePeriodStart"], required=True
        ),
        charge_period_end=parse_timestamp(
            get("ChargePeriodEnd"), file, row, columns.get("ChargePeriodEnd", ""), required=False
        ),
        billed_cost=parse_cost(get("BilledCost"), file, row, columns["BilledCost"]),
        billing_currency=_text(get("BillingCurrency")),
        provider_name=_text(get("ProviderName")),
        service_name=_text(get("ServiceName")),
        charge_category=_text(get("ChargeCategory")),
        source_file=str(file),
        source_row=row,
        resource_id=_text(get("ResourceId")),
        charge_description=_text(get("ChargeDescription")),
    )


def _read_csv(file: Path) -> Iterator[BillingCharge]:
    opener = gzip.open if file.name.lower().endswith(".gz") else open
    try:
        with opener(file, "rt", encoding="utf-8-sig", newline="") as handle:  # type: ignore[operator]
            reader = csv.DictReader(handle)
            columns = _column_map(file, reader.fieldnames or [])
            for row, record in enumerate(reader, start=1):
                yield _charge(record, columns, file, row)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise BillingExportError(f"billing export {file}: not a readable CSV file: {exc}") from None


def _read_parquet(file: Path) -> Iterator[BillingCharge]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
    except (pa.ArrowException, OSError) as exc:
        raise BillingExportError(
            f"billing export {file}: not a readable Parquet file: {exc}"
        ) from None
    columns = _column_map(file, parquet.schema_arrow.names)
    row = 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=list(columns.values())):
        for record in batch.to_pylist():
            row += 1
            yield _charge(record, columns, file, row)


def read_export(path: Path) -> Iterator[tuple[Path, Iterator[BillingCharge]]]:
    """Each file of the export with a lazy iterator of its charges."""
    for file in export_files(path):
        name = file.name.lower()
        yield file, (_read_parquet(file) if name.endswith(PARQUET_SUFFIXES) else _read_csv(file))


def _batches(
    charges: Iterable[BillingCharge], size: int = BATCH_ROWS
) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for charge in charges:
        batch.append(charge.as_row())
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def _ddl(table: str, columns: Sequence[tuple[str, str]], target: str) -> str:
    cols = ", ".join(f"{c} {_TYPES[target][t]}" for c, t in columns)
    return f"create table {CATALOG_SCHEMA}.{table} ({cols})"


class _Counter:
    """Reads the export for the writer: counts once a charge repeated from an earlier file,
    converts currencies, and counts what was loaded for the status row."""

    def __init__(self, path: Path | None, billing: BillingSettings | None = None):
        self.path = path
        self.billing = billing
        self.files: list[Path] = []
        self.charges = 0
        self.duplicate_charges = 0
        self.repeats: dict[tuple[str, str], int] = {}  # (file, earlier file) -> charges
        self.currencies: dict[str, str] = {}  # currency -> where first seen

    def charges_of(self) -> Iterator[BillingCharge]:
        if self.path is None:
            return
        # Identity -> the most copies any one earlier file holds (and the first such file):
        # a file's n-th copy of a charge is a repeat when an earlier file had n or more.
        earlier: CounterOf[tuple[Any, ...]] = CounterOf()
        first_file: dict[tuple[Any, ...], str] = {}
        for file, charges in read_export(self.path):
            self.files.append(file)
            this_file: CounterOf[tuple[Any, ...]] = CounterOf()
            for charge in charges:
                key = charge.identity
                this_file[key] += 1
                if this_file[key] <= earlier[key]:
                    self.duplicate_charges += 1
                    pair = (file.name, first_file[key])
                    self.repeats[pair] = self.repeats.get(pair, 0) + 1
                    continue
                first_file.setdefault(key, file.name)
                self.charges += 1
                yield self._in_reporting_currency(charge)
            for key, n in this_file.items():
                earlier[key] = max(earlier[key], n)

    def _in_reporting_currency(self, charge: BillingCharge) -> BillingCharge:
        currency = charge.billing_currency
        where = f"{Path(charge.source_file).name} row {charge.source_row}"
        if self.billing is None:
            if currency is not None:
                self.currencies.setdefault(currency, where)
                if len(self.currencies) > 1:
                    seen = ", ".join(f"{c} (first in {w})" for c, w in self.currencies.items())
                    raise BillingExportError(
                        f"billing export {self.path}: charges in more than one currency: {seen}; "
                        "name the reporting currency and the rates into it in the catalog "
                        "(settings.billing: {currency: USD, exchange_rates: {JPY: 0.0067}})"
                    )
            return charge
        target = self.billing.currency
        if currency is None or currency == target:
            return dataclasses.replace(charge, billing_currency=target)
        rate = self.billing.exchange_rates.get(currency)
        if rate is None:
            raise BillingExportError(
                f"billing export {where}: currency {currency} has no rate into {target}: "
                f"add settings.billing.exchange_rates.{currency} to the catalog"
            )
        return dataclasses.replace(
            charge, billed_cost=charge.billed_cost * rate, billing_currency=target
        )

    @property
    def duplicates(self) -> tuple[str, ...]:
        return tuple(
            f"{file} repeats {n} charges of {earlier}"
            for (file, earlier), n in sorted(self.repeats.items())
        )

    def status_row(self) -> tuple[Any, ...]:
        return (
            self.path is not None,
            None if self.path is None else str(self.path),
            len(self.files),
            self.charges,
            datetime.now(UTC),
            self.duplicate_charges,
            "; ".join(self.duplicates) or None,
        )


def load_billing(
    catalog: Catalog,
    *,
    target: str,
    home: Path | str | None = None,
    dsn: str | None = None,
    base_dir: Path | str | None = None,
) -> BillingLoad:
    """Replace ``catalog.billing_charges`` and ``catalog.billing_export_status`` with the
    catalog's billing export (none configured: no charges, ``is_configured`` false), in one
    transaction. Raises :class:`BillingExportError` on an unreadable export; the tables then
    keep their previous contents."""
    path = export_path(catalog, base_dir)
    counter = _Counter(path, catalog.billing)
    if target == "duckdb":
        if not home:
            raise ValueError("the warehouse needs home")
        _write_duckdb(warehouse_path(home), counter)
    elif target == "postgres":
        if not dsn:
            raise ValueError("the warehouse needs PLATFORM_KPIS_PG_DSN")
        _write_postgres(dsn, counter)
    else:
        raise ValueError(f"unknown target {target!r}")
    return BillingLoad(
        path is not None,
        path,
        tuple(counter.files),
        counter.charges,
        counter.duplicate_charges,
        counter.duplicates,
    )


def _write_duckdb(path: Path, counter: _Counter) -> None:
    import duckdb
    import pyarrow as pa

    arrow_types = {
        "timestamp": pa.timestamp("us"),
        "double": pa.float64(),
        "text": pa.string(),
        "bigint": pa.int64(),
    }
    schema = pa.schema([(c, arrow_types[t]) for c, t in CHARGE_COLUMNS])
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {CATALOG_SCHEMA}")
        for table, columns in ((CHARGES_TABLE, CHARGE_COLUMNS), (STATUS_TABLE, STATUS_COLUMNS)):
            con.execute(
                _ddl(table, columns, "duckdb").replace("create table", "create or replace table", 1)
            )
        for batch in _batches(counter.charges_of()):
            arrow = pa.Table.from_pylist(
                [dict(zip(schema.names, r, strict=True)) for r in batch], schema=schema
            )
            con.register("billing_batch", arrow)
            con.execute(f"insert into {CATALOG_SCHEMA}.{CHARGES_TABLE} select * from billing_batch")
            con.unregister("billing_batch")
        con.execute(
            f"insert into {CATALOG_SCHEMA}.{STATUS_TABLE} values (?, ?, ?, ?, ?, ?, ?)",
            list(counter.status_row()),
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.close()


def _write_postgres(dsn: str, counter: _Counter) -> None:
    """Keeps existing tables (dbt views depend on them) unless their columns changed."""
    import psycopg

    with psycopg.connect(dsn) as con, con.cursor() as cur:
        cur.execute(f"create schema if not exists {CATALOG_SCHEMA}")
        for table, columns in ((CHARGES_TABLE, CHARGE_COLUMNS), (STATUS_TABLE, STATUS_COLUMNS)):
            cur.execute(
                """select column_name from information_schema.columns
                where table_schema = %s and table_name = %s order by ordinal_position""",
                [CATALOG_SCHEMA, table],
            )
            existing = [r[0] for r in cur.fetchall()]
            if existing != [c for c, _ in columns]:
                if existing:
                    cur.execute(f"drop table {CATALOG_SCHEMA}.{table} cascade")
                cur.execute(_ddl(table, columns, "postgres"))
            else:
                cur.execute(f"delete from {CATALOG_SCHEMA}.{table}")
        names = ", ".join(c for c, _ in CHARGE_COLUMNS)
        with cur.copy(f"copy {CATALOG_SCHEMA}.{CHARGES_TABLE} ({names}) from stdin") as copy:
            for batch in _batches(counter.charges_of()):
                for row in batch:
                    copy.write_row(row)
        cur.execute(
            f"insert into {CATALOG_SCHEMA}.{STATUS_TABLE} values (%s, %s, %s, %s, %s, %s, %s)",
            counter.status_row(),
        )
        # psycopg's connection context commits on success and rolls back on error.
