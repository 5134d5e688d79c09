"""Publication: validated marts become visible to BI tools all at once, or not at all.

DuckDB: the marts are copied into a new database file beside the published one, checkpointed,
closed, then moved over it with an atomic rename. A BI tool that has the old file open keeps
reading it; one that opens the path afterwards gets the new file; nobody sees half of one.
Postgres: the marts are copied into a fresh schema which replaces ``marts`` in one
transaction, and the read-only BI role is granted SELECT on it (and nothing else).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

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
    warehouse: Path, build_schema: str, tables: Sequence[str], published: Path
) -> Path:
    """Copy ``build_schema.<table>`` of the warehouse file into ``published`` (schema
    ``marts``), replacing it atomically. Returns the published path."""
    import duckdb

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
                    f"create table {catalog}.{PUBLISHED_SCHEMA}.{t} as "
                    f"select * from wh.{_ident(build_schema)}.{t}"
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
    return published


def publish_postgres(
    dsn: str, build_schema: str, tables: Sequence[str], bi_role: str | None = None
) -> None:
    """Copy the build schema's tables into a new schema and swap it in as ``marts`` in one
    transaction; the BI role may read ``marts`` and nothing else."""
    import psycopg

    build = _ident(build_schema)
    staged = f"marts_next_{uuid.uuid4().hex[:8]}"
    old = f"marts_old_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn) as con:
        with con.cursor() as cur:
            cur.execute(f"create schema {staged}")
            for table in tables:
                t = _ident(table)
                cur.execute(f"create table {staged}.{t} as select * from {build}.{t}")
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
