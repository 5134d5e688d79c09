"""Reading the published marts (schema ``marts``), and nothing else.

The report must degrade honestly on an older publication: every reader first asks which
tables and columns the publication holds, and a missing one is reported as missing, never
read as zeros.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from expectations.publish import PUBLISHED_SCHEMA, published_path


class NoPublication(RuntimeError):
    """There are no published marts to report on (the gate has not passed once)."""


@dataclass
class Publication:
    """An open, read-only connection to the published marts and the columns they hold."""

    con: object
    where: str
    dialect: str  # "duckdb" or "postgres"
    columns: dict[str, set[str]] = field(default_factory=dict)

    def has(self, table: str, *columns: str) -> bool:
        return table in self.columns and set(columns) <= self.columns[table]

    def rows(self, table: str, columns: Iterable[str], where: str = "", order: str = "") -> list:
        """Rows of ``marts.<table>`` as dicts; columns the table lacks are left out."""
        present = [c for c in columns if c in self.columns.get(table, ())]
        if not present:
            return []
        sql = f"select {', '.join(present)} from {PUBLISHED_SCHEMA}.{table}"
        sql += f" where {where}" if where else ""
        sql += f" order by {order}" if order else ""
        cur = self.con.execute(sql)
        return [dict(zip(present, map(_plain, row), strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Publication:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _plain(value):
    """Postgres numerics come back as Decimal; the report formats floats."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


_COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns "
    f"where table_schema = '{PUBLISHED_SCHEMA}'"
)


def open_duckdb(path: Path) -> Publication:
    import duckdb

    if not path.exists():
        raise NoPublication(f"no published marts at {path} (the gate has not passed once)")
    con = duckdb.connect(str(path), read_only=True)
    pub = Publication(con=con, where=str(path), dialect="duckdb")
    _load_columns(pub, con.execute(_COLUMNS_SQL).fetchall())
    return pub


def open_postgres(dsn: str) -> Publication:
    import psycopg

    con = psycopg.connect(dsn, autocommit=True)
    pub = Publication(con=con, where=f"postgres schema {PUBLISHED_SCHEMA}", dialect="postgres")
    _load_columns(pub, con.execute(_COLUMNS_SQL).fetchall())
    if not pub.columns:
        con.close()
        raise NoPublication(f"no published marts in postgres schema {PUBLISHED_SCHEMA}")
    return pub


def open_publication(target: str, home: str | Path, dsn: str | None = None) -> Publication:
    if target == "postgres":
        if not dsn:
            raise ValueError("the postgres target needs PLATFORM_KPIS_PG_DSN")
        return open_postgres(dsn)
    return open_duckdb(published_path(home))


def _load_columns(pub: Publication, pairs: list[tuple[str, str]]) -> None:
    for table, column in pairs:
        pub.columns.setdefault(table, set()).add(column)
