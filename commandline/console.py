"""What the command line prints after a run and in ``status``: the sync table, the gate's
findings, the published scorecard. Reads only what is stored (raw layer, published marts),
never Dagster, so ``status`` stays fast."""

from __future__ import annotations

from expectations.report import Finding, gate_text
from platform_kpis.config import Settings


def print_gate(findings: list[Finding]) -> None:
    text = gate_text(findings)
    if not text:
        print("\ngate: every expectation passed")
        return
    blocked = any(not f.passed and f.blocking for f in findings)
    print(f"\ngate: {'BLOCKED publication' if blocked else 'passed with warnings'}")
    print(text)


def _raw_status_rows(settings: Settings, source: str) -> list[dict]:
    if settings.target == "postgres":
        from extractors.rawstore import open_store

        with open_store(source, target="postgres", dsn=settings.pg_dsn.reveal()) as store:
            return store.status_rows()
    import duckdb

    from extractors.rawstore import duckdb_path

    path = duckdb_path(settings.home, source)
    if not path.exists():
        return []
    # Read-only, so a reader never creates or alters the raw layer.
    con = duckdb.connect(str(path), read_only=True)
    try:
        cur = con.execute("select * from pipeline_sync_status order by stream")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except duckdb.CatalogException:  # the file exists but no stream has synced yet
        return []
    finally:
        con.close()


def print_sync_table(settings: Settings) -> None:
    from extractors.rawstore import SOURCES

    print(f"\n{'source/stream':34} {'status':8} {'records':>8} {'requests':>9} {'retries':>8}")
    for source in SOURCES:
        try:
            rows = _raw_status_rows(settings, source)
        except Exception as exc:  # noqa: BLE001 - a locked file must not hide the rest
            if "lock" not in str(exc).lower():
                raise
            print(f"{source + '/*':34} (a run is writing its raw layer now; try again later)")
            continue
        if not rows:
            print(f"{source + '/*':34} never synced")
        for row in rows:
            print(
                f"{row['source'] + '/' + row['stream']:34} {row['status']:8} "
                f"{row['records']:>8} {row['requests']:>9} {row['retries']:>8}"
            )
    if settings.target == "duckdb":
        print(f"\nraw layer: {settings.home / 'raw'}/<source>.duckdb")


SCORECARD_SQL = """
    select month_start, kpi, value, previous_value, change_pct, n
    from marts.kpi_scorecard
    where month_start = (select {last_complete} from marts.kpi_scorecard)
    order by kpi"""
LAST_COMPLETE = "max(month_start) filter (where is_complete)"
# A publication from before is_complete: the latest month is taken as tonight's partial one.
LAST_COMPLETE_BEFORE_V2 = """coalesce(max(month_start) filter (
    where month_start < (select max(month_start) from marts.kpi_scorecard)), max(month_start))"""
HAS_IS_COMPLETE = """
    select count(*) from information_schema.columns
    where table_schema = 'marts' and table_name = 'kpi_scorecard' and column_name = 'is_complete'"""


def _scorecard_sql(con) -> str:
    v2 = con.execute(HAS_IS_COMPLETE).fetchone()[0]
    return SCORECARD_SQL.format(last_complete=LAST_COMPLETE if v2 else LAST_COMPLETE_BEFORE_V2)


def _scorecard_rows(settings: Settings) -> tuple[list[tuple] | None, str]:
    """The rows and where they were read; None when nothing is published yet."""
    if settings.target == "postgres":
        import psycopg

        with psycopg.connect(settings.pg_dsn.reveal()) as con:
            exists = con.execute("select to_regclass('marts.kpi_scorecard')").fetchone()[0]
            rows = con.execute(_scorecard_sql(con)).fetchall() if exists else None
        return rows, "schema marts of PLATFORM_KPIS_PG_DSN"
    import duckdb

    from expectations.publish import published_path

    path = published_path(settings.home)
    if not path.exists():
        return None, str(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(_scorecard_sql(con)).fetchall(), f"{path} (schema marts)"
    finally:
        con.close()


def print_scorecard(settings: Settings) -> None:
    """The org-wide scorecard of the last complete published month."""
    rows, where = _scorecard_rows(settings)
    if rows is None:
        print("\nno published marts yet (the gate has not passed once)")
        return
    if not rows:
        print("\nthe published scorecard is empty")
        return
    print(f"\nscorecard, {rows[0][0]:%B %Y} (org-wide, the last complete month)")
    width = max(len("kpi"), *(len(row[1]) for row in rows))  # theme KPIs have long names
    print(f"{'kpi':{width}} {'value':>12} {'previous':>12} {'change %':>9} {'n':>6}")
    for _, kpi, value, previous, change, n in rows:
        print(
            f"{kpi:{width}} {_fmt(value):>12} {_fmt(previous):>12} {_fmt(change):>9} "
            f"{'' if n is None else n:>6}"
        )
    print(f"\npublished marts: {where}; open it read-only from a BI tool")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def print_report_path(settings: Settings, fresh: bool) -> None:
    from reporting import report_path

    path = report_path(settings.home)
    if not path.exists():
        print("no report yet: it is built after the first publication")
        return
    # A failed night publishes nothing, so the report on disk is the last good one.
    which = "report" if fresh else "report (of the last good publication)"
    print(f"{which}: {path} (open it in a browser; rebuild it with `tasks.py report`)")
