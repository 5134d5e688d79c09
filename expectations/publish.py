"""Publication: validated marts become visible to BI tools all at once, or not at all.

DuckDB: the marts are copied into a new database file beside the published one, checkpointed,
closed, then moved over it with an atomic rename. A BI tool that has the old file open keeps
reading it; one that opens the path afterwards gets the new file; nobody sees half of one.
Postgres: the marts are copied into a fresh schema which replaces ``marts`` in one
transaction, and the read-only BI role is granted SELECT on it (and nothing else).

With a :class:`~expectations.history.Publication`, each publish also appends to the history
(``expectations.history``) and publishes ``publications`` beside the marts.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from expectations.history import (
    HISTORY_SCHEMA,
    INSERT_PUBLICATION,
    PUBLICATIONS_TABLE,
    PUBLISHED_COLUMNS,
    Publication,
    ensure_history_duckdb,
    ensure_history_postgres,
    snapshot_statements,
)

# dbt builds every model of its marts folder into marts_build (dbt_project.yml), and every one
# of them is published: the folder is the one list of published marts.
DBT_MARTS_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"


def mart_names() -> tuple[str, ...]:
    """The dbt marts the gate checks and publication copies to schema ``marts``."""
    return tuple(sorted(p.stem for p in DBT_MARTS_DIR.rglob("*.sql")))


PUBLISHED_SCHEMA = "marts"
# Not "marts.duckdb": DuckDB names a file's catalog after it, and "marts.kpi_x" would then be
# ambiguous between the catalog and the schema.
PUBLISHED_FILE = "platform_kpis.duckdb"


def published_path(home: str | Path) -> Path:
    """Where the DuckDB publication lives under the data directory."""
    return Path(home) / "published" / PUBLISHED_FILE


def _ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not a safe identifier: {name!r}")
    return name


def publish_duckdb(
    warehouse: Path,
    build_schema: str,
    tables: Sequence[str],
    published: Path,
    publication: Publication | None = None,
) -> Path:
    """Copy ``build_schema.<table>`` of the warehouse file into ``published`` (schema
    ``marts``), replacing it atomically. Returns the published path.

    With ``publication``, the writes go in this order, so that a publish killed at any point
    never leaves history naming a publication BI tools did not get: (1) the snapshots, in one
    transaction (orphans until step 3: readers join them to ``publications``); (2) the new
    published file, its ``publications`` table listing history's rows plus this one, swapped
    in by rename; (3) this publication's row in history. Killed between (2) and (3), the
    published file names a publication history lacks: the next publish adopts it first."""
    import duckdb

    build = _ident(build_schema)
    if publication is not None:
        con = duckdb.connect(str(warehouse))
        try:
            ensure_history_duckdb(con)
            _adopt_published(con, published)
            con.execute("begin")
            for statement in snapshot_statements(build, publication.publication_id, "to_json(t)"):
                con.execute(statement)
            con.execute("commit")
        finally:
            con.close()
    published.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file's stem becomes its catalog name: keep it unique and unambiguous.
    catalog = f"pk_publish_{uuid.uuid4().hex}"
    tmp = published.with_name(f"{catalog}.duckdb")
    try:
        con = duckdb.connect(str(tmp))
        try:
            con.execute(f"attach '{warehouse}' as wh (read_only)")
            con.execute(f"create schema {catalog}.{PUBLISHED_SCHEMA}")
            for table in tables:
                t = _ident(table)
                con.execute(
                    f"create table {catalog}.{PUBLISHED_SCHEMA}.{t} as select * from wh.{build}.{t}"
                )
            if publication is not None:
                columns = ", ".join(PUBLISHED_COLUMNS)
                con.execute(
                    f"create table {catalog}.{PUBLISHED_SCHEMA}.{PUBLICATIONS_TABLE} as "
                    f"select {columns} from wh.{HISTORY_SCHEMA}.publications union all "
                    "select ?::text, ?::timestamptz, ?::timestamptz, ?::text, ?::integer "
                    "order by published_at",
                    list(publication.row()[: len(PUBLISHED_COLUMNS)]),
                )
            con.execute("detach wh")
            con.execute("checkpoint")
        finally:
            con.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, published)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
    if publication is not None:
        con = duckdb.connect(str(warehouse))
        try:
            marks = ", ".join(["?"] * len(publication.row()))
            con.execute(INSERT_PUBLICATION.format(marks=marks), list(publication.row()))
        finally:
            con.close()
    return published


def _adopt_published(con, published: Path) -> None:
    """Record in history the publications the published file lists but history lacks (a
    publish killed after its rename, before its history row): they did reach BI tools."""
    if not published.exists():
        return
    con.execute(f"attach '{published}' as pub (read_only)")
    try:
        listed = con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = 'pub' and table_schema = ? and table_name = ?",
            [PUBLISHED_SCHEMA, PUBLICATIONS_TABLE],
        ).fetchone()[0]
        if listed:
            con.execute(
                f"insert into {HISTORY_SCHEMA}.publications "
                "select publication_id, published_at, as_of, warnings, warning_count, "
                "'{}', '{}' "
                f"from pub.{PUBLISHED_SCHEMA}.{PUBLICATIONS_TABLE} "
                "where publication_id not in "
                f"(select publication_id from {HISTORY_SCHEMA}.publications)"
            )
    finally:
        con.execute("detach pub")


def publish_postgres(
    dsn: str,
    build_schema: str,
    tables: Sequence[str],
    bi_role: str | None = None,
    publication: Publication | None = None,
) -> None:
    """Copy the build schema's tables into a new schema and swap it in as ``marts`` in one
    transaction; the BI role may read ``marts`` and nothing else. With ``publication``, the
    history rows go in the same transaction: all of it happens, or none of it."""
    import psycopg

    build = _ident(build_schema)
    staged = f"marts_next_{uuid.uuid4().hex[:8]}"
    old = f"marts_old_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn) as con:
        with con.cursor() as cur:
            if publication is not None:
                ensure_history_postgres(cur)
                json_row = "row_to_json(t)::text"
                for statement in snapshot_statements(build, publication.publication_id, json_row):
                    cur.execute(statement)
                marks = ", ".join(["%s"] * len(publication.row()))
                cur.execute(INSERT_PUBLICATION.format(marks=marks), publication.row())
            cur.execute(f"create schema {staged}")
            for table in tables:
                t = _ident(table)
                cur.execute(f"create table {staged}.{t} as select * from {build}.{t}")
            if publication is not None:
                cur.execute(
                    f"create table {staged}.{PUBLICATIONS_TABLE} as "
                    f"select {', '.join(PUBLISHED_COLUMNS)} "
                    f"from {HISTORY_SCHEMA}.publications order by published_at"
                )
            cur.execute(
                "select 1 from information_schema.schemata where schema_name = %s",
                [PUBLISHED_SCHEMA],
            )
            if cur.fetchone():
                cur.execute(f"alter schema {PUBLISHED_SCHEMA} rename to {old}")
            cur.execute(f"alter schema {staged} rename to {PUBLISHED_SCHEMA}")
            if bi_role:
                role = _ident(bi_role)
                cur.execute(f"grant usage on schema {PUBLISHED_SCHEMA} to {role}")
                cur.execute(f"grant select on all tables in schema {PUBLISHED_SCHEMA} to {role}")
            cur.execute(f"drop schema if exists {old} cascade")
        con.commit()


def ensure_bi_role(dsn: str, role: str, password: str | None = None) -> None:
    """Create the read-only BI login role if missing; it gets no rights beyond ``marts``
    (granted at each publish), and PUBLIC's default rights on ``public`` are revoked for it
    by not granting any (Postgres 15+ no longer grants CREATE on public to PUBLIC)."""
    import psycopg
    from psycopg import sql

    role = _ident(role)
    with psycopg.connect(dsn, autocommit=True) as con:
        exists = con.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if not exists:
            if password:
                con.execute(
                    sql.SQL("create role {} login password {}").format(
                        sql.Identifier(role), sql.Literal(password)
                    )
                )
            else:
                con.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
