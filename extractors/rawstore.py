"""The raw layer: append-only tables per source stream, plus the cursor of each stream.

Every raw row carries the record, its key, a hash of its content, the time it was extracted
and the run that extracted it. A page's rows and the stream's new state are committed in one
transaction. A record whose content equals the latest stored version of its key is not
appended again, so re-reading an overlap (page drift, a re-run after a crash, the
organizations export's boundary duplicates) adds nothing.

DuckDB: one file per source under ``$PLATFORM_KPIS_HOME/raw/`` so the three sources write in
parallel without sharing a writer lock; dbt attaches them read-only. Postgres: one schema per
source (``raw_github``, ...), same tables and semantics.
"""

from __future__ import annotations

import hashlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extractors.base import Page

SOURCES = ("github", "pagerduty", "zendesk")
STATUS_COLUMNS = (
    "source",
    "stream",
    "status",
    "last_attempt_at",
    "last_success_at",
    "records",
    "requests",
    "retries",
    "throttled_seconds",
    "cursor",
    "error",
    "as_of",
)


@dataclass
class SyncStatus:
    source: str
    stream: str
    status: str
    last_attempt_at: datetime
    last_success_at: datetime | None
    records: int
    requests: int
    retries: int
    throttled_seconds: float
    cursor: str | None
    error: str | None
    # The API's own clock (its Date header) when the last successful sync ended: the data
    # holds every record up to this time. Never the host's clock, which may be skewed.
    as_of: datetime | None = None

    def row(self) -> tuple:
        return tuple(getattr(self, c) for c in STATUS_COLUMNS)


# A failed attempt keeps the time of the last success and the as-of time it left.
_KEPT_THROUGH_FAILURES = ("last_success_at", "as_of")


def _status_updates() -> str:
    return ", ".join(
        f"{c} = coalesce(excluded.{c}, pipeline_sync_status.{c})"
        if c in _KEPT_THROUGH_FAILURES
        else f"{c} = excluded.{c}"
        for c in STATUS_COLUMNS[2:]
    )


# Raw layers created before a status column existed gain it (NULL for the old rows).
_ADDED_STATUS_COLUMNS = (("as_of", "timestamptz"),)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _rows(page: Page, table: str) -> list[tuple[str, str, str | None, str]]:
    """Rows to stage for one table; the last version of a key within a page wins."""
    latest: dict[str, tuple[str, str, str | None, str]] = {}
    for rec in page.records.get(table, []):
        data = _canonical(rec.data)
        ctx = _canonical(rec.context) if rec.context is not None else None
        digest = hashlib.sha256(f"{data}\x00{ctx}".encode()).hexdigest()
        latest.pop(rec.key, None)
        latest[rec.key] = (rec.key, data, ctx, digest)
    return list(latest.values())


def _check_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a safe table name: {name!r}")
    return name


class SourceStore(ABC):
    source: str

    @abstractmethod
    def state(self, stream: str) -> dict[str, Any]: ...

    @abstractmethod
    def commit(self, stream: str, page: Page, run_id: str) -> int:
        """Append the page's changed records and save the stream state, atomically.
        Returns how many rows were appended."""

    @abstractmethod
    def latest(self, table: str) -> Iterator[tuple[str, dict, dict | None]]:
        """The latest version of every record of a table: (key, record, context)."""

    @abstractmethod
    def count(self, table: str, *, distinct_keys: bool = False) -> int: ...

    @abstractmethod
    def write_status(self, status: SyncStatus) -> None: ...

    @abstractmethod
    def status_rows(self) -> list[dict[str, Any]]:
        """The source's rows of pipeline_sync_status, by stream."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> SourceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DuckDBSourceStore(SourceStore):
    def __init__(self, path: Path, source: str, *, lock_timeout: float = 120.0):
        import duckdb

        self.source = source
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_timeout
        while True:
            try:
                self.con = duckdb.connect(str(path))
                break
            except duckdb.IOException as exc:
                # Another process (a BI query, a previous run) holds the file's lock.
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.con.execute("create sequence if not exists raw_ingest_seq")
        self.con.execute("""create table if not exists _sync_state (
            stream varchar primary key, state json not null,
            updated_at timestamptz not null, run_id varchar)""")
        self.con.execute("""create table if not exists pipeline_sync_status (
            source varchar not null, stream varchar not null, status varchar not null,
            last_attempt_at timestamptz, last_success_at timestamptz, records bigint,
            requests bigint, retries bigint, throttled_seconds double, cursor varchar,
            error varchar, as_of timestamptz, primary key (source, stream))""")
        for name, type_ in _ADDED_STATUS_COLUMNS:
            self.con.execute(
                f"alter table pipeline_sync_status add column if not exists {name} {type_}"
            )
        self._tables: set[str] = set()

    def _ensure(self, table: str) -> None:
        if table in self._tables:
            return
        self.con.execute(f"""create table if not exists {_check_name(table)} (
            ingest_id bigint not null default nextval('raw_ingest_seq'),
            record_key varchar not null, record json not null, context json,
            record_hash varchar not null, extracted_at timestamptz not null,
            run_id varchar not null)""")
        self._tables.add(table)

    def state(self, stream: str) -> dict[str, Any]:
        row = self.con.execute(
            "select state from _sync_state where stream = ?", [stream]
        ).fetchone()
        return json.loads(row[0]) if row else {}

    def commit(self, stream: str, page: Page, run_id: str) -> int:
        import pyarrow as pa

        now = datetime.now(UTC)
        for table in page.records:
            self._ensure(table)
        appended = 0
        self.con.execute("begin transaction")
        try:
            for table in page.records:
                rows = _rows(page, table)
                if not rows:
                    continue
                batch = pa.table(
                    {
                        "record_key": [r[0] for r in rows],
                        "record": [r[1] for r in rows],
                        "context": [r[2] for r in rows],
                        "record_hash": [r[3] for r in rows],
                    }
                )
                self.con.register("_batch", batch)
                appended += self.con.execute(
                    f"""
                    insert into {table} (record_key, record, context, record_hash,
                                         extracted_at, run_id)
                    select b.record_key, b.record, b.context, b.record_hash, ?, ?
                    from _batch b
                    left join (
                        select record_key, arg_max(record_hash, ingest_id) as record_hash
                        from {table}
                        where record_key in (select record_key from _batch)
                        group by record_key
                    ) l on l.record_key = b.record_key
                    where l.record_hash is distinct from b.record_hash""",
                    [now, run_id],
                ).fetchone()[0]
                self.con.unregister("_batch")
            self.con.execute(
                """insert into _sync_state values (?, ?, ?, ?)
                on conflict (stream) do update set state = excluded.state,
                updated_at = excluded.updated_at, run_id = excluded.run_id""",
                [stream, _canonical(page.state), now, run_id],
            )
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
        return appended

    def latest(self, table: str) -> Iterator[tuple[str, dict, dict | None]]:
        exists = self.con.execute(
            "select count(*) from information_schema.tables where table_name = ?",
            [_check_name(table)],
        ).fetchone()[0]
        if not exists:
            return
        cur = self.con.cursor()
        cur.execute(f"""select record_key, record, context from {table}
            qualify row_number() over (partition by record_key order by ingest_id desc) = 1
            order by record_key""")
        while chunk := cur.fetchmany(1000):
            for key, rec, ctx in chunk:
                yield key, json.loads(rec), json.loads(ctx) if ctx is not None else None
        cur.close()

    def count(self, table: str, *, distinct_keys: bool = False) -> int:
        what = "count(distinct record_key)" if distinct_keys else "count(*)"
        try:
            return self.con.execute(f"select {what} from {_check_name(table)}").fetchone()[0]
        except Exception:
            return 0

    def write_status(self, status: SyncStatus) -> None:
        self.con.execute(
            f"""insert into pipeline_sync_status ({", ".join(STATUS_COLUMNS)})
            values ({", ".join(["?"] * len(STATUS_COLUMNS))})
            on conflict (source, stream) do update set {_status_updates()}""",
            list(status.row()),
        )

    def status_rows(self) -> list[dict[str, Any]]:
        cur = self.con.execute("select * from pipeline_sync_status order by stream")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        self.con.close()


class PostgresSourceStore(SourceStore):
    def __init__(self, dsn: str, source: str):
        import psycopg

        self.source = source
        self.schema = f"raw_{_check_name(source)}"
        self.con = psycopg.connect(dsn, autocommit=False)
        self._reader = psycopg.connect(dsn, autocommit=False)
        with self.con.cursor() as cur:
            cur.execute(f"create schema if not exists {self.schema}")
            cur.execute(f"""create table if not exists {self.schema}._sync_state (
                stream text primary key, state jsonb not null,
                updated_at timestamptz not null, run_id text)""")
            cur.execute(f"""create table if not exists {self.schema}.pipeline_sync_status (
                source text not null, stream text not null, status text not null,
                last_attempt_at timestamptz, last_success_at timestamptz, records bigint,
                requests bigint, retries bigint, throttled_seconds double precision,
                cursor text, error text, as_of timestamptz, primary key (source, stream))""")
            for name, type_ in _ADDED_STATUS_COLUMNS:
                cur.execute(
                    f"alter table {self.schema}.pipeline_sync_status "
                    f"add column if not exists {name} {type_}"
                )
        self.con.commit()
        self._tables: set[str] = set()

    def _ensure(self, table: str) -> None:
        if table in self._tables:
            return
        t = f"{self.schema}.{_check_name(table)}"
        with self.con.cursor() as cur:
            cur.execute(f"""create table if not exists {t} (
                ingest_id bigint generated always as identity primary key,
                record_key text not null, record jsonb not null, context jsonb,
                record_hash text not null, extracted_at timestamptz not null,
                run_id text not null)""")
            cur.execute(
                f"create index if not exists {table}_key_idx on {t} (record_key, ingest_id desc)"
            )
        self.con.commit()
        self._tables.add(table)

    def state(self, stream: str) -> dict[str, Any]:
        with self.con.cursor() as cur:
            cur.execute(f"select state from {self.schema}._sync_state where stream = %s", [stream])
            row = cur.fetchone()
        self.con.commit()
        return row[0] if row else {}

    def commit(self, stream: str, page: Page, run_id: str) -> int:
        for table in page.records:
            self._ensure(table)
        now = datetime.now(UTC)
        appended = 0
        try:
            with self.con.cursor() as cur:
                for table in page.records:
                    rows = _rows(page, table)
                    if not rows:
                        continue
                    cur.execute(
                        "create temp table if not exists _batch (record_key text, "
                        "record jsonb, context jsonb, record_hash text) "
                        "on commit delete rows"
                    )
                    with cur.copy("copy _batch from stdin") as copy:
                        for row in rows:
                            copy.write_row(row)
                    t = f"{self.schema}.{table}"
                    cur.execute(
                        f"""insert into {t} (record_key, record, context, record_hash,
                                                     extracted_at, run_id)
                        select b.record_key, b.record, b.context, b.record_hash, %s, %s
                        from _batch b
                        left join lateral (
                            select record_hash from {t} r where r.record_key = b.record_key
                            order by ingest_id desc limit 1) l on true
                        where l.record_hash is distinct from b.record_hash""",
                        [now, run_id],
                    )
                    appended += cur.rowcount
                    cur.execute("delete from _batch")
                cur.execute(
                    f"""insert into {self.schema}._sync_state values (%s, %s, %s, %s)
                    on conflict (stream) do update set state = excluded.state,
                    updated_at = excluded.updated_at, run_id = excluded.run_id""",
                    [stream, _canonical(page.state), now, run_id],
                )
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        return appended

    def latest(self, table: str) -> Iterator[tuple[str, dict, dict | None]]:
        t = f"{self.schema}.{_check_name(table)}"
        with self._reader.cursor() as probe:
            probe.execute("select to_regclass(%s)", [t])
            if probe.fetchone()[0] is None:
                self._reader.commit()
                return
        with self._reader.cursor(name=f"latest_{table}") as cur:
            cur.execute(f"""select distinct on (record_key) record_key, record, context
                from {t} order by record_key, ingest_id desc""")
            while chunk := cur.fetchmany(1000):
                yield from chunk
        self._reader.commit()

    def count(self, table: str, *, distinct_keys: bool = False) -> int:
        what = "count(distinct record_key)" if distinct_keys else "count(*)"
        t = f"{self.schema}.{_check_name(table)}"
        with self._reader.cursor() as cur:
            cur.execute("select to_regclass(%s)", [t])
            if cur.fetchone()[0] is None:
                self._reader.commit()
                return 0
            cur.execute(f"select {what} from {t}")
            n = cur.fetchone()[0]
        self._reader.commit()
        return n

    def write_status(self, status: SyncStatus) -> None:
        with self.con.cursor() as cur:
            cur.execute(
                f"""insert into {self.schema}.pipeline_sync_status ({", ".join(STATUS_COLUMNS)})
                values ({", ".join(["%s"] * len(STATUS_COLUMNS))})
                on conflict (source, stream) do update set {_status_updates()}""",
                list(status.row()),
            )
        self.con.commit()

    def status_rows(self) -> list[dict[str, Any]]:
        with self._reader.cursor() as cur:
            cur.execute(f"select * from {self.schema}.pipeline_sync_status order by stream")
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        self._reader.commit()
        return rows

    def close(self) -> None:
        self.con.close()
        self._reader.close()


def duckdb_path(home: Path, source: str) -> Path:
    return Path(home) / "raw" / f"{source}.duckdb"


def open_store(
    source: str, *, target: str, home: Path | None = None, dsn: str | None = None
) -> SourceStore:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if target == "duckdb":
        if home is None:
            raise ValueError("the duckdb target needs a home directory")
        return DuckDBSourceStore(duckdb_path(home, source), source)
    if target == "postgres":
        if not dsn:
            raise ValueError("the postgres target needs PLATFORM_KPIS_PG_DSN")
        return PostgresSourceStore(dsn, source)
    raise ValueError(f"unknown target {target!r}")
