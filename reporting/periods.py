"""Which periods are complete. With ``is_complete`` (contract v2) the marts say so; an older
publication does not, and there the latest period of a table is taken as still running (a
nightly run always publishes the current week and month partly)."""

from __future__ import annotations

import datetime as dt

from reporting.marts import Publication


def knows_completeness(pub: Publication, table: str) -> bool:
    return pub.has(table, "is_complete")


def read(
    pub: Publication, table: str, period: str, columns: list[str], where: str = "", order=None
) -> list[dict]:
    """The table's rows, each marked ``complete`` (True/False) from its flag, or by the
    fallback above."""
    rows = pub.rows(table, [period, *columns, "is_complete"], where=where, order=order or period)
    flagged = knows_completeness(pub, table)
    latest = max((r[period] for r in rows), default=None)
    for r in rows:
        r["complete"] = bool(r["is_complete"]) if flagged else r[period] != latest
    return rows


def last_complete(rows: list[dict], period: str) -> dt.date | None:
    return max((r[period] for r in rows if r["complete"]), default=None)
